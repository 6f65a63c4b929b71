import Logging
import PostgresNIO

extension EntityStateRepository {
    /// The user states a stale-subscription preview for another period must look at: those whose
    /// stale point (`stale_at_event_ms`, indexed) is at or before `staleAtOrBefore`, and `keys`
    /// (users whose stale issue is open, which have no stale point). Reads no other row, so the
    /// report's `periodDays` costs what its answer holds, not the number of users.
    public static func staleCandidates(
        staleAtOrBefore: Int64, keys: [String], on connection: PostgresConnection, logger: Logger
    ) async throws -> [Row] {
        let rows = try await connection.query(
            """
            SELECT key, kind, state, settle_deadline_ms, stale_at_event_ms FROM assurance.entity_state
            WHERE kind = 'user' AND length(state) > 0
              AND (stale_at_event_ms <= \(staleAtOrBefore) OR key = ANY(\(keys)::text[]))
            ORDER BY key
            """, logger: logger)
        return try await collectUnversioned(rows)
    }
}
