import Logging
import PostgresNIO

/// Counts the assurance report and the demo show besides the issues.
public enum ReportRepository {
    /// Users with a stored state.
    public static func countUsers(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query(
            "SELECT count(*) FROM assurance.entity_state WHERE kind = 'user' AND length(state) > 0", logger: logger)
        for try await count in rows.decode(Int64.self) { return count }
        return 0
    }

    /// Stripe customers whose stored state has the byte 0 at `usersByteOffset` (the user count): they
    /// have events but no user names them.
    public static func countUnmappedStripeCustomers(usersByteOffset: Int, on connection: PostgresConnection, logger: Logger)
        async throws -> Int64
    {
        let offset = Int32(usersByteOffset)
        let rows = try await connection.query(
            """
            SELECT count(*) FROM assurance.entity_state
            WHERE kind = 'stripe_customer' AND length(state) > \(offset) AND get_byte(state, \(offset)) = 0
            """, logger: logger)
        for try await count in rows.decode(Int64.self) { return count }
        return 0
    }

    /// Records consumed so far from `topics`, by every group (the sum of the stored next offsets).
    public static func consumedRecords(topics: [String], on connection: PostgresConnection, logger: Logger)
        async throws -> Int64
    {
        let rows = try await connection.query(
            "SELECT coalesce(sum(next_offset), 0)::bigint FROM assurance.consumer_offsets WHERE topic = ANY(\(topics)::text[])",
            logger: logger)
        for try await value in rows.decode(Int64.self) { return value }
        return 0
    }

    /// Whether the server answers a trivial query.
    public static func ping(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT 1", logger: logger)
    }
}
