import Logging
import PostgresNIO

/// Counts the assurance report and the demo show besides the issues (the counts over the entity
/// states are `StateCountRepository`'s).
public enum ReportRepository {
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
