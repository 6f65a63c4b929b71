import CheckPipeline
import Persistence

/// The entity states one unit of work (a batch, a sweep, a repair) reads and changes, each with the
/// version of the row it was read at, and how they were read, which decides how they are written back.
struct EntityStates {
    /// How states are read, and so how they are written back.
    enum Access: Sendable {
        /// From the cache or read without locks; written back only where the rows are still at the
        /// versions read (`EntityStateRepository.VersionConflict` otherwise).
        case optimistic
        /// Locked in the caller's transaction (missing rows created empty, at version 0); written back as they are.
        case locked
    }

    let access: Access
    /// The states the pipeline reads and changes.
    let store: InMemoryStateStore
    /// Every key read, with its string form (built once).
    var keys: [(string: String, key: StateKey)]
    /// The row version each key was read at; a key without a row is missing.
    var versions: [StateKey: Int64]
    /// The report's counts over the states of `keys` as read: what the write's delta is taken against
    /// (exact, since the write applies only to rows still as read, or locked).
    var counted: StateCounts

    /// Adds `other`'s states (read the same way, for keys not read yet).
    mutating func add(_ other: EntityStates) {
        for (string, key) in other.keys where versions[key] == nil {
            let state = other.store.get(key)
            store.load(key, state)
            counted.count(state)
            if let version = other.versions[key] { versions[key] = version }
            keys.append((string, key))
        }
    }
}

/// The write of what the pipeline changed in `EntityStates`, encoded (so that it can be prepared
/// outside the transaction), and every key read as it will be once the write commits.
struct EntityStateWrite: Sendable {
    enum Form: Sendable {
        /// For optimistic reads: applied only where every row read is still at the version read.
        case versioned(EntityStateRepository.VersionedWrite)
        /// For locked reads: the changed rows, one version up each.
        case locked([EntityStateRepository.Row])
    }

    let form: Form
    /// Every key read, with its state and row version after the write (for the cache).
    let after: [(key: StateKey, entry: EntityStateCache.Entry)]
    /// How the write changes the report's counts (`EntityStateAccess.count`).
    let counts: StateCounts
}
