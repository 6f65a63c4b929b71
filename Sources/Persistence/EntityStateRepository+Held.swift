import CheckPipeline
import Logging
import PostgresNIO

/// Entities whose pending checks are held on silent inputs (their deadline is a `HeldDeadline`).
///
/// Both questions are asked as ranges of the stored deadline (`HeldDeadline.releasableRanges`,
/// `heldRanges`), one index probe per set of held checks, so they cost the same with a million held
/// entities as with none (testing each held row took 150 ms per check at 430 000 held rows).
extension EntityStateRepository {
    /// Keys with a held check whose inputs have delivered again since (due for a tick).
    public static func releasableHeldKeys(
        lastDelivered: [InputTopic: Int64], limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(key: String, kind: String)] {
        let ranges = HeldDeadline.releasableRanges(lastDelivered: lastDelivered)
        guard !ranges.isEmpty else { return [] }
        let rows = try await connection.query(
            """
            SELECT e.key, e.kind FROM unnest(\(ranges.map(\.lo))::bigint[], \(ranges.map(\.hi))::bigint[]) AS r(lo, hi)
            CROSS JOIN LATERAL (
              SELECT key, kind FROM assurance.entity_state
              WHERE settle_deadline_ms BETWEEN r.lo AND r.hi LIMIT \(limit)
            ) AS e
            LIMIT \(limit)
            """, logger: logger)
        var result: [(key: String, kind: String)] = []
        for try await (key, kind) in rows.decode((String, String).self) { result.append((key, kind)) }
        return result
    }

    /// The checks holding at least one deadline now (their inputs have not delivered since), sorted.
    public static func heldChecks(
        lastDelivered: [InputTopic: Int64], on connection: PostgresConnection, logger: Logger
    ) async throws -> [String] {
        var checks: [String] = []
        var los: [Int64] = []
        var his: [Int64] = []
        for check in HeldCheck.allCases {
            for range in HeldDeadline.heldRanges(of: check, lastDelivered: lastDelivered) {
                checks.append(check.check.rawValue)
                los.append(range.lo)
                his.append(range.hi)
            }
        }
        guard !checks.isEmpty else { return [] }
        let rows = try await connection.query(
            """
            SELECT DISTINCT r.c FROM unnest(\(checks)::text[], \(los)::bigint[], \(his)::bigint[]) AS r(c, lo, hi)
            WHERE EXISTS (SELECT 1 FROM assurance.entity_state WHERE settle_deadline_ms BETWEEN r.lo AND r.hi)
            """, logger: logger)
        var held: [String] = []
        for try await check in rows.decode(String.self) { held.append(check) }
        return held.sorted()
    }
}
