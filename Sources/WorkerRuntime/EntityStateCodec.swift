import CheckPipeline
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared

/// Turns pipeline entity states into database rows and back.
///
/// States are stored in `EntityState`'s compact binary form (a version byte first); rows written
/// as JSON by earlier versions (first byte `{`) are still read, and rewritten in binary when they change.
struct EntityStateCodec: Sendable {
    let settings: CheckSettings

    func row(for key: StateKey, state: EntityState) -> EntityStateRepository.Row {
        row(for: key, keyString: key.stringValue, state: state)
    }

    func row(for key: StateKey, keyString: String, state: EntityState) -> EntityStateRepository.Row {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(160)
        state.encodeBinary(into: &bytes)
        return EntityStateRepository.Row(
            key: keyString, kind: key.kind.rawValue, state: bytes,
            settleDeadlineMs: state.settleDeadlineMs(settleMs: settings.settleMs),
            staleAtEventMs: state.staleAtEventMs(periodMs: settings.periodMs))
    }

    func state(from row: EntityStateRepository.Row) throws -> EntityState? {
        guard let first = row.state.first else { return nil }
        if first == UInt8(ascii: "{") {
            return try JSONDecoder().decode(EntityState.self, from: Data(row.state))
        }
        return try EntityState(binary: row.state)
    }

    /// Locks and loads the states of `keys` into a fresh in-memory store.
    func lockAndLoad(_ keys: some Sequence<StateKey>, on connection: PostgresConnection, logger: Logger) async throws
        -> InMemoryStateStore
    {
        var lap = PhaseLap(times: nil)
        return try await lockAndLoad(keys, on: connection, logger: logger, lap: &lap)
    }

    /// `lockAndLoad`, charging the SQL and the decoding to separate phases.
    func lockAndLoad(
        _ keys: some Sequence<StateKey>, on connection: PostgresConnection, logger: Logger, lap: inout PhaseLap
    ) async throws -> InMemoryStateStore {
        // Each key's string form is built once (it is what the rows are keyed and sorted by).
        let unique = Set(keys).map { (string: $0.stringValue, key: $0) }
        let rows = try await EntityStateRepository.lockAndLoad(
            keys: unique.map { ($0.string, $0.key.kind.rawValue) }, on: connection, logger: logger)
        lap.end(.lockStates)
        defer { lap.end(.decodeStates) }
        let store = InMemoryStateStore(minimumCapacity: unique.count)
        for (string, key) in unique {
            if let row = rows[string] { store.load(key, try state(from: row)) }
        }
        return store
    }

    /// Locks and loads every state `records` touch: the keys they name and the ones their states name
    /// (`IssuePipeline.dependentKeys`), for applying them in a transaction of their own.
    func lockAndLoad(touchedBy records: [BillingRecord], on connection: PostgresConnection, logger: Logger)
        async throws -> InMemoryStateStore
    {
        let store = try await lockAndLoad(records.flatMap(IssuePipeline.stateKeys(for:)), on: connection, logger: logger)
        let dependent = IssuePipeline.dependentKeys(for: records, store: store)
        if !dependent.isEmpty {
            let more = try await lockAndLoad(dependent, on: connection, logger: logger)
            for key in dependent { store.load(key, more.get(key)) }
        }
        return store
    }

    /// Writes back what the pipeline changed.
    func saveChanges(of store: InMemoryStateStore, on connection: PostgresConnection, logger: Logger) async throws {
        var lap = PhaseLap(times: nil)
        try await saveChanges(of: store, on: connection, logger: logger, lap: &lap)
    }

    /// `saveChanges`, charging the encoding and the SQL to separate phases.
    func saveChanges(
        of store: InMemoryStateStore, on connection: PostgresConnection, logger: Logger, lap: inout PhaseLap
    ) async throws {
        // Sorted by key like `store.changes`, but comparing strings built once, not per comparison.
        var changed = store.changedKeys.map { (string: $0.stringValue, key: $0) }
        changed.sort { $0.string < $1.string }
        var rows: [EntityStateRepository.Row] = []
        rows.reserveCapacity(changed.count)
        for (string, key) in changed { rows.append(row(for: key, keyString: string, state: store.get(key))) }
        lap.end(.encodeStates)
        try await EntityStateRepository.save(rows, on: connection, logger: logger)
    }
}
