import CheckPipeline
import Foundation
import Persistence
import Shared

/// Turns pipeline entity states into database rows and back (no SQL: `EntityStateAccess` reads and
/// writes the rows).
///
/// States are stored in `EntityState`'s compact binary form (a version byte first); rows written
/// as JSON by earlier versions (first byte `{`) are still read, and rewritten in binary when they change.
struct EntityStateCodec: Sendable {
    let settings: CheckSettings

    /// The row of a state, or the empty row of a deleted one.
    func row(for key: StateKey, keyString: String, state: EntityState?) -> EntityStateRepository.Row {
        var bytes: [UInt8] = []
        if let state {
            bytes.reserveCapacity(160)
            state.encodeBinary(into: &bytes)
        }
        return EntityStateRepository.Row(
            key: keyString, kind: key.kind.rawValue, state: bytes,
            settleDeadlineMs: state?.settleDeadlineMs(settleMs: settings.settleMs, baseline: settings.ledgerBaseline),
            staleAtEventMs: state?.staleAtEventMs(periodMs: settings.periodMs))
    }

    func state(from row: EntityStateRepository.Row) throws -> EntityState? {
        guard let first = row.state.first else { return nil }
        if first == UInt8(ascii: "{") {
            return try JSONDecoder().decode(EntityState.self, from: Data(row.state))
        }
        return try EntityState(binary: row.state)
    }
}
