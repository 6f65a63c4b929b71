import CheckPipeline
import Logging
import Persistence
import PostgresNIO

/// The entity states one batch works on, with the version of the row each was read at.
struct BatchStates {
    /// The states the pipeline reads and changes.
    let store: InMemoryStateStore
    /// Every key the batch touches, with its string form (built once).
    let keys: [(string: String, key: StateKey)]
    /// The row version each key was read at; a key without a row is missing.
    let versions: [StateKey: Int64]

    /// These states and `other`'s (read the same way, for keys not read yet) as one batch.
    func adding(_ other: BatchStates) -> BatchStates {
        var versions = self.versions
        for (_, key) in other.keys where versions[key] == nil {
            store.load(key, other.store.get(key))
            if let version = other.versions[key] { versions[key] = version }
        }
        return BatchStates(store: store, keys: keys + other.keys, versions: versions)
    }
}

extension EntityStateCodec {
    /// The states of `keys`: those in `cache` as cached, the others read without locks.
    ///
    /// Nothing is locked: `writeIfUnchanged` later checks that every row is still at the version read.
    func loadUnlocked(
        _ keys: Set<StateKey>, cache: EntityStateCache, on connection: PostgresConnection, logger: Logger,
        lap: inout PhaseLap
    ) async throws -> BatchStates {
        let (hits, misses) = cache.lookup(Array(keys))
        let missing = misses.map { (string: $0.stringValue, key: $0) }
        let rows = try await EntityStateRepository.load(keys: missing.map(\.string), on: connection, logger: logger)
        lap.end(.lockStates)
        defer { lap.end(.decodeStates) }
        let store = InMemoryStateStore(minimumCapacity: keys.count)
        var versions: [StateKey: Int64] = Dictionary(minimumCapacity: keys.count)
        var all = missing
        all.reserveCapacity(keys.count)
        for (key, entry) in hits {
            store.load(key, entry.state)
            versions[key] = entry.version
            all.append((key.stringValue, key))
        }
        for (string, key) in missing {
            guard let row = rows[string] else { continue }
            store.load(key, try state(from: row))
            versions[key] = row.version
        }
        return BatchStates(store: store, keys: all, versions: versions)
    }

    /// The states of `keys`, locked (rows created for missing keys), as `lockAndLoad` reads them.
    func lockAndLoadVersioned(
        _ keys: Set<StateKey>, on connection: PostgresConnection, logger: Logger, lap: inout PhaseLap
    ) async throws -> BatchStates {
        let unique = keys.map { (string: $0.stringValue, key: $0) }
        let rows = try await EntityStateRepository.lockAndLoad(
            keys: unique.map { ($0.string, $0.key.kind.rawValue) }, on: connection, logger: logger)
        lap.end(.lockStates)
        defer { lap.end(.decodeStates) }
        let store = InMemoryStateStore(minimumCapacity: unique.count)
        var versions: [StateKey: Int64] = Dictionary(minimumCapacity: unique.count)
        for (string, key) in unique {
            guard let row = rows[string] else { continue }
            store.load(key, try state(from: row))
            versions[key] = row.version
        }
        return BatchStates(store: store, keys: unique, versions: versions)
    }

    /// Writes what the pipeline changed in states read by `loadUnlocked`, if nobody changed them since
    /// (`EntityStateRepository.VersionConflict` otherwise); returns every touched key as it now is.
    func writeIfUnchanged(
        _ batch: BatchStates, on connection: PostgresConnection, logger: Logger, lap: inout PhaseLap
    ) async throws -> [(key: StateKey, entry: EntityStateCache.Entry)] {
        let (write, after) = versionedWrite(of: batch)
        lap.end(.encodeStates)
        try await EntityStateRepository.writeIfUnchanged(write, on: connection, logger: logger)
        return after
    }

    /// The versioned write of what the pipeline changed in `batch`, and every touched key as it will
    /// be once the write commits.
    func versionedWrite(of batch: BatchStates) -> (
        write: EntityStateRepository.VersionedWrite, after: [(key: StateKey, entry: EntityStateCache.Entry)]
    ) {
        var write = EntityStateRepository.VersionedWrite()
        var after: [(key: StateKey, entry: EntityStateCache.Entry)] = []
        after.reserveCapacity(batch.keys.count)
        let changed = batch.store.changedKeys
        // In key order, the order the rows are locked in (the repository then need not sort them).
        for (string, key) in batch.keys.sorted(by: { $0.string < $1.string }) {
            let state = batch.store.get(key)
            let version = batch.versions[key]
            if let version {
                if changed.contains(key) {
                    var row = self.row(for: key, keyString: string, state: state)
                    row.version = version
                    write.updates.append(row)
                    after.append((key, .init(state: state, version: version + 1)))
                } else {
                    write.unchanged.append((string, version))
                    after.append((key, .init(state: state, version: version)))
                }
            } else if let state, changed.contains(key) {
                write.inserts.append(self.row(for: key, keyString: string, state: state))
                after.append((key, .init(state: state, version: 1)))
            } else {
                write.unchangedAbsent.append((string, key.kind.rawValue))
                after.append((key, .init(state: nil, version: 0)))
            }
        }
        return (write, after)
    }

    /// Writes what the pipeline changed in states read by `lockAndLoadVersioned`; returns every
    /// touched key as it now is.
    func saveLocked(
        _ batch: BatchStates, on connection: PostgresConnection, logger: Logger, lap: inout PhaseLap
    ) async throws -> [(key: StateKey, entry: EntityStateCache.Entry)] {
        let changed = batch.store.changedKeys
        try await saveChanges(of: batch.store, on: connection, logger: logger, lap: &lap)
        return batch.keys.map { _, key in
            // Every locked key has a row: `lockAndLoad` created the missing ones at version 0.
            let version = batch.versions[key] ?? 0
            return (key, .init(state: batch.store.get(key), version: changed.contains(key) ? version + 1 : version))
        }
    }

    /// The row of a state, or the empty row of a deleted one.
    func row(for key: StateKey, keyString: String, state: EntityState?) -> EntityStateRepository.Row {
        guard let state else {
            return EntityStateRepository.Row(
                key: keyString, kind: key.kind.rawValue, state: [], settleDeadlineMs: nil, staleAtEventMs: nil)
        }
        return row(for: key, keyString: keyString, state: state)
    }
}
