import Logging
import PostgresNIO
import Shared
import Synchronization

/// The open issues as last read, decoded, each stamped with its row version (`xmin` and `version`),
/// for a reader that reads the open set again and again (the alert evaluator, after every batch).
///
/// Reading the open set decodes each issue's JSON; with thousands of open issues and a batch every
/// few milliseconds that took about an eighth of the worker's CPU (perf, issue 14). With the cache a
/// read decodes only the issues whose row changed since the last read, in one statement (one
/// snapshot), so the result is exactly what `IssueRepository.open` would return.
public final class OpenIssueCache: Sendable {
    private struct Entry {
        var stamp: String
        var event: IssueEvent
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// Every issue currently open, ordered by id (as `IssueRepository.open`).
    public func open(on connection: PostgresConnection, logger: Logger) async throws -> [IssueEvent] {
        let known = entries.withLock { $0 }
        let ids = Array(known.keys)
        let stamps = ids.map { known[$0]!.stamp }
        // The event JSON comes back only for rows whose stamp differs from the cached one.
        let rows = try await connection.query(
            """
            SELECT i.issue_id, i.xmin::text || '/' || i.version::text,
              CASE WHEN k.stamp IS DISTINCT FROM i.xmin::text || '/' || i.version::text THEN i.event::text END
            FROM assurance.issues i
            LEFT JOIN unnest(\(ids)::text[], \(stamps)::text[]) AS k(id, stamp) ON k.id = i.issue_id
            WHERE i.status = 'open' ORDER BY i.issue_id
            """, logger: logger)
        var fresh: [String: Entry] = Dictionary(minimumCapacity: known.count)
        var result: [IssueEvent] = []
        var complete = true
        for try await (id, stamp, json) in rows.decode((String, String, String?).self) {
            let event: IssueEvent
            if let json {
                event = try JSONReader.decode(IssueEvent.self, from: json)
            } else if let cached = known[id], cached.stamp == stamp {
                event = cached.event
            } else {
                complete = false  // not expected: the JSON is left out only when the stamp matched
                continue
            }
            fresh[id] = Entry(stamp: stamp, event: event)
            result.append(event)
        }
        guard complete else {
            entries.withLock { $0 = [:] }
            return try await IssueRepository.open(on: connection, logger: logger)
        }
        entries.withLock { $0 = fresh }
        return result
    }
}
