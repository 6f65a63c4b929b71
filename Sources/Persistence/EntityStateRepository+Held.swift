import CheckPipeline
import Logging
import PostgresNIO

/// Entities whose pending checks are held on silent inputs (their deadline is a `HeldDeadline`).
extension EntityStateRepository {
    /// SQL that is true for a stored held deadline `d` of which check `check` can be released now:
    /// every input the check waits on delivered after the held since time. The values are numbers
    /// this process computed, so they are written into the statement.
    static func releasable(_ check: HeldCheck, lastDelivered: [InputTopic: Int64], column d: String) -> String {
        var terms = ["((\(d) >> 42) & \(check.bit)) <> 0"]
        for input in check.inputs {
            terms.append("\(lastDelivered[input] ?? -1) > (\(d) & \(HeldDeadline.sinceMask))")
        }
        return "(" + terms.joined(separator: " AND ") + ")"
    }

    /// Keys with a held check whose inputs have delivered again since (due for a tick).
    public static func releasableHeldKeys(
        lastDelivered: [InputTopic: Int64], limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(key: String, kind: String)] {
        let d = "settle_deadline_ms"
        let any = HeldCheck.allCases.map { releasable($0, lastDelivered: lastDelivered, column: d) }
        let sql = """
            SELECT key, kind FROM assurance.entity_state
            WHERE \(d) >= \(HeldDeadline.base) AND (\(any.joined(separator: " OR "))) LIMIT \(limit)
            """
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        var result: [(key: String, kind: String)] = []
        for try await (key, kind) in rows.decode((String, String).self) { result.append((key, kind)) }
        return result
    }

    /// The checks holding at least one deadline now (their inputs have not delivered since), sorted.
    public static func heldChecks(
        lastDelivered: [InputTopic: Int64], on connection: PostgresConnection, logger: Logger
    ) async throws -> [String] {
        let d = "settle_deadline_ms"
        var held: [String] = []
        for check in HeldCheck.allCases {
            let sql = """
                SELECT EXISTS (SELECT 1 FROM assurance.entity_state
                WHERE \(d) >= \(HeldDeadline.base) AND ((\(d) >> 42) & \(check.bit)) <> 0
                  AND NOT \(releasable(check, lastDelivered: lastDelivered, column: d)))
                """
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
            for try await exists in rows.decode(Bool.self) where exists { held.append(check.check.rawValue) }
        }
        return held.sorted()
    }
}
