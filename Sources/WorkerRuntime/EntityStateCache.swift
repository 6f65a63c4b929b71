import CheckPipeline
import Foundation

/// Entity states this worker read or wrote lately, each with the version of its row.
///
/// A batch takes the states it finds here instead of reading them. An entry can go stale (another
/// worker, the sweeper or a repair wrote the row since): the batch's versioned write then fails and
/// the batch is redone with locked reads, so a stale entry costs time, never correctness.
///
/// The capacity bounds memory with two generations: when the recent one is full it becomes the
/// older one and the previous older one is dropped; a hit in the older one moves back to the recent.
public final class EntityStateCache: @unchecked Sendable {
    // @unchecked: `recent` and `older` are only touched under `lock`.

    /// A cached state and the version of its row (every cached key has a row).
    public struct Entry: Sendable {
        public var state: EntityState?
        public var version: Int64

        public init(state: EntityState?, version: Int64) {
            self.state = state
            self.version = version
        }
    }

    /// Most entries kept; 0 turns the cache off.
    public let capacity: Int
    private let lock = NSLock()
    private var recent: [StateKey: Entry] = [:]
    private var older: [StateKey: Entry] = [:]

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The cached entries of `keys`, and the keys not cached.
    func lookup(_ keys: [StateKey]) -> (hits: [(key: StateKey, entry: Entry)], misses: [StateKey]) {
        guard capacity > 0 else { return ([], keys) }
        var hits: [(key: StateKey, entry: Entry)] = []
        var misses: [StateKey] = []
        hits.reserveCapacity(keys.count)
        lock.lock()
        defer { lock.unlock() }
        for key in keys {
            if let entry = recent[key] {
                hits.append((key, entry))
            } else if let entry = older.removeValue(forKey: key) {
                insertLocked(key, entry)
                hits.append((key, entry))
            } else {
                misses.append(key)
            }
        }
        return (hits, misses)
    }

    /// Remembers states as they are after a committed transaction.
    func store(_ entries: [(key: StateKey, entry: Entry)]) {
        guard capacity > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        for (key, entry) in entries {
            older[key] = nil
            insertLocked(key, entry)
        }
    }

    /// Forgets `keys` (their rows were written by a transaction that did not go through the cache).
    func forget(_ keys: some Sequence<StateKey>) {
        guard capacity > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
        for key in keys {
            recent[key] = nil
            older[key] = nil
        }
    }

    /// Forgets everything (after a rebalance, when other workers may own what this one cached).
    public func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        recent = [:]
        older = [:]
    }

    /// How many entries are cached.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return recent.count + older.count
    }

    private func insertLocked(_ key: StateKey, _ entry: Entry) {
        if recent.count >= max(1, capacity / 2), recent[key] == nil {
            older = recent
            recent = Dictionary(minimumCapacity: capacity / 2)
        }
        recent[key] = entry
    }
}
