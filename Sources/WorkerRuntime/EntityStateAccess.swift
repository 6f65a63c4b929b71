import CheckPipeline
import Logging
import Persistence
import PostgresNIO
import Shared

/// The one way the worker reads and writes entity states: the batch path and its redo, bootstrap,
/// the sweeper and repairs all go through it.
///
/// States are read one of two ways (`EntityStates.Access`): optimistically, from the cache or without
/// locks, or locked inside the caller's transaction. `encode` turns what the pipeline changed into
/// the matching write, `write` runs it in the transaction, and once that committed, `committed`
/// refreshes the cache with every state as written (locked writers included, so the next batch need
/// not read what a sweep or a repair just wrote).
///
/// The seam also keeps the report's counts (`StateCounts`): `read` counts the states as read,
/// `encode` the states as they will be, and `count` adds the difference to a counter shard in the
/// same transaction, so no extra decode and no scan.
struct EntityStateAccess: Sendable {
    let codec: EntityStateCodec
    /// Shared by the batch processor, the sweeper and the repairs of one worker; `nil` caches nothing.
    let cache: EntityStateCache?

    init(settings: CheckSettings, cache: EntityStateCache?) {
        self.codec = EntityStateCodec(settings: settings)
        self.cache = cache
    }

    /// The states of every key `records` name and of the keys their states name
    /// (`IssuePipeline.dependentKeys`), read the same way.
    func read(
        touchedBy records: [BillingRecord], _ access: EntityStates.Access, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> EntityStates {
        var keys = Set<StateKey>(minimumCapacity: records.count)
        for record in records { keys.formUnion(IssuePipeline.stateKeys(for: record)) }
        var states = try await read(keys, access, on: connection, logger: logger)
        let dependent = IssuePipeline.dependentKeys(for: records, store: states.store)
        if !dependent.isEmpty { states.add(try await read(dependent, access, on: connection, logger: logger)) }
        return states
    }

    /// The states of `keys`: optimistic ones from the cache where it has them, the others read
    /// without locks; locked ones locked and read (rows created for missing keys).
    func read(
        _ keys: Set<StateKey>, _ access: EntityStates.Access, on connection: PostgresConnection, logger: Logger
    ) async throws -> EntityStates {
        var lap = PhaseLap()
        var hits: [(key: StateKey, entry: EntityStateCache.Entry)] = []
        var misses: [(string: String, key: StateKey)]
        let rows: [String: EntityStateRepository.Row]
        switch access {
        case .optimistic:
            let lookup = cache?.lookup(Array(keys)) ?? (hits: [], misses: Array(keys))
            hits = lookup.hits
            misses = lookup.misses.map { (string: $0.stringValue, key: $0) }
            rows = try await EntityStateRepository.load(keys: misses.map(\.string), on: connection, logger: logger)
        case .locked:
            misses = keys.map { (string: $0.stringValue, key: $0) }
            rows = try await EntityStateRepository.lockAndLoad(
                keys: misses.map { ($0.string, $0.key.kind.rawValue) }, on: connection, logger: logger)
        }
        lap.end(.lockStates)
        defer { lap.end(.decodeStates) }
        let store = InMemoryStateStore(minimumCapacity: keys.count)
        var versions: [StateKey: Int64] = Dictionary(minimumCapacity: keys.count)
        var counted = StateCounts()
        for (string, key) in misses {
            guard let row = rows[string] else { continue }
            let state = try codec.state(from: row)
            store.load(key, state)
            counted.count(state)
            versions[key] = row.version
        }
        misses.reserveCapacity(keys.count)
        for (key, entry) in hits {
            store.load(key, entry.state)
            counted.count(entry.state)
            versions[key] = entry.version
            misses.append((key.stringValue, key))
        }
        return EntityStates(access: access, store: store, keys: misses, versions: versions, counted: counted)
    }

    /// The write of what the pipeline changed in `states`, in the form their access asks for.
    func encode(_ states: EntityStates) -> EntityStateWrite {
        let changed = states.store.changedKeys
        var after: [(key: StateKey, entry: EntityStateCache.Entry)] = []
        after.reserveCapacity(states.keys.count)
        var versioned = EntityStateRepository.VersionedWrite()
        var locked: [EntityStateRepository.Row] = []
        var counted = StateCounts()
        // In key order, the order the rows are locked in (the repository then need not sort them).
        for (string, key) in states.keys.sorted(by: { $0.string < $1.string }) {
            let state = states.store.get(key)
            // Unchanged keys count as read: only the changed ones move the total.
            counted.count(state)
            // Every locked key has a row: reading it created the missing ones at version 0.
            let version = states.versions[key] ?? (states.access == .locked ? 0 : nil)
            switch (changed.contains(key), version) {
            case (true, let version?):
                var row = codec.row(for: key, keyString: string, state: state)
                row.version = version
                if states.access == .locked { locked.append(row) } else { versioned.updates.append(row) }
                after.append((key, .init(state: state, version: version + 1)))
            case (false, let version?):
                versioned.unchanged.append((string, version))
                after.append((key, .init(state: state, version: version)))
            case (true, .none) where state != nil:
                versioned.inserts.append(codec.row(for: key, keyString: string, state: state))
                after.append((key, .init(state: state, version: 1)))
            case (_, .none):
                versioned.unchangedAbsent.append((string, key.kind.rawValue))
                after.append((key, .init(state: nil, version: 0)))
            }
        }
        let form: EntityStateWrite.Form = states.access == .locked ? .locked(locked) : .versioned(versioned)
        return EntityStateWrite(form: form, after: after, counts: counted - states.counted)
    }

    /// Runs `write` in the caller's transaction.
    func write(_ write: EntityStateWrite, on connection: PostgresConnection, logger: Logger) async throws {
        switch write.form {
        case .versioned(let versioned):
            try await EntityStateRepository.writeIfUnchanged(versioned, on: connection, logger: logger)
        case .locked(let rows):
            try await EntityStateRepository.save(rows, on: connection, logger: logger)
        }
    }

    /// Adds what `write` changed in the report's counts to counter `shard`, in the caller's
    /// transaction (nothing when it changed none). Every transaction that writes states calls it, as
    /// its last statement (`StateCountRepository.add`): the counts then commit or roll back with the
    /// states they describe.
    func count(_ write: EntityStateWrite, shard: Int32, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await StateCountRepository.add(write.counts, shard: shard, on: connection, logger: logger)
    }

    /// The counter shard of the writers not tied to a partition: the sweeper, repairs and bootstrap.
    static let sharedCountShard: Int32 = -1

    /// The counter shard of a batch: its lowest partition. A partition belongs to one worker at a
    /// time, whose batches commit one after the other, so workers rarely share a counter row.
    static func countShard(of partitions: some Sequence<TopicPartition>) -> Int32 {
        partitions.lazy.map(\.partition).min() ?? 0
    }

    /// Refreshes the cache with the states `write` committed. Only after the commit: a version
    /// that never committed could later be written by someone else with other contents.
    func committed(_ write: EntityStateWrite) {
        cache?.store(write.after)
    }
}
