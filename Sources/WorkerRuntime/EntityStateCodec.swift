import CheckPipeline
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared

/// Turns pipeline entity states into database rows and back.
struct EntityStateCodec: Sendable {
    let settings: CheckSettings

    func row(for key: StateKey, state: EntityState) throws -> EntityStateRepository.Row {
        EntityStateRepository.Row(
            key: key.stringValue, kind: key.kind.rawValue, state: Array(try JSONEncoder().encode(state)),
            settleDeadlineMs: state.settleDeadlineMs(settleMs: settings.settleMs),
            staleAtEventMs: state.staleAtEventMs(periodMs: settings.periodMs))
    }

    func state(from row: EntityStateRepository.Row) throws -> EntityState? {
        guard !row.state.isEmpty else { return nil }
        return try JSONDecoder().decode(EntityState.self, from: Data(row.state))
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
        let unique = Set(keys)
        let rows = try await EntityStateRepository.lockAndLoad(
            keys: unique.map { ($0.stringValue, $0.kind.rawValue) }, on: connection, logger: logger)
        lap.end(.lockStates)
        defer { lap.end(.decodeStates) }
        let store = InMemoryStateStore()
        for key in unique {
            if let row = rows[key.stringValue] { store.load(key, try state(from: row)) }
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
        var rows: [EntityStateRepository.Row] = []
        for (key, state) in store.changes {
            if let state {
                rows.append(try row(for: key, state: state))
            } else {
                rows.append(
                    EntityStateRepository.Row(
                        key: key.stringValue, kind: key.kind.rawValue, state: [], settleDeadlineMs: nil,
                        staleAtEventMs: nil))
            }
        }
        lap.end(.encodeStates)
        try await EntityStateRepository.save(rows, on: connection, logger: logger)
    }
}
