import Logging
import PostgresNIO

/// The alert policy's one state row (`assurance.alert_policy_state`, id 1), as JSON text; the caller
/// owns its shape.
public enum AlertPolicyStateRepository {
    /// Locks the row for this transaction, creating it (`{}`) on first use; nil while another
    /// transaction holds it (`SKIP LOCKED`: that worker is evaluating, this one skips its turn).
    public static func lock(on connection: PostgresConnection, logger: Logger) async throws -> String? {
        try await connection.query(
            "INSERT INTO assurance.alert_policy_state (id, state) VALUES (1, '{}'::jsonb) ON CONFLICT (id) DO NOTHING",
            logger: logger)
        let rows = try await connection.query(
            "SELECT state::text FROM assurance.alert_policy_state WHERE id = 1 FOR UPDATE SKIP LOCKED", logger: logger)
        for try await text in rows.decode(String.self) { return text }
        return nil
    }

    /// Replaces the state with `json`.
    public static func save(_ json: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE assurance.alert_policy_state SET state = \(json)::jsonb WHERE id = 1", logger: logger)
    }
}
