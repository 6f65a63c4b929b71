import Logging
import PostgresNIO
import Shared

/// Results of commands already processed, so a command id is carried out at most once across the cluster.
public enum ProcessedCommandRepository {
    public static func find(commandId: String, on connection: PostgresConnection, logger: Logger) async throws
        -> RepairResult?
    {
        let rows = try await connection.query(
            "SELECT result::text FROM assurance.processed_commands WHERE command_id = \(commandId)", logger: logger)
        for try await text in rows.decode(String.self) {
            return try JSONReader.decode(RepairResult.self, from: text)
        }
        return nil
    }

    /// Records the first result of a command, with who asked and why.
    public static func record(
        _ result: RepairResult, actor: String?, reason: String?, on connection: PostgresConnection, logger: Logger
    ) async throws {
        let json = String(decoding: result.jsonBytes(), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO assurance.processed_commands (command_id, issue_id, result, processed_at, actor, reason)
            VALUES (\(result.commandId), \(result.issueId), \(json)::jsonb, now(), \(actor), \(reason))
            ON CONFLICT (command_id) DO NOTHING
            """, logger: logger)
    }
}
