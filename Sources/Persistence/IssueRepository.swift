import CheckPipeline
import Logging
import PostgresNIO
import Shared

/// The cluster's issues: current state and the version counter that every event of an issue bumps.
/// It locks, loads and stores; `IssueReducer` (CheckPipeline) decides each next event.
///
/// - Important: Call inside the transaction that holds the locks of the entities the changes come from;
///   the issue rows themselves are locked here too, so versions grow by one per event across workers.
public enum IssueRepository {
    /// Applies changes in order and returns the issue events they produce (none for no-op changes).
    public static func apply(_ changes: [IssueChange], on connection: PostgresConnection, logger: Logger) async throws
        -> [IssueEvent]
    {
        try await applyEncoding(changes, on: connection, logger: logger).map(\.event)
    }

    /// `apply`, returning each event with its JSON (encoded once, for the issue row and the outbox).
    public static func applyEncoding(_ changes: [IssueChange], on connection: PostgresConnection, logger: Logger)
        async throws -> [EncodedIssueEvent]
    {
        guard !changes.isEmpty else { return [] }
        let ids = Array(Set(changes.map(\.issueId))).sorted()
        var current = try await lockWithBasis(ids: ids, on: connection, logger: logger)
        let events = IssueReducer.apply(changes, to: &current)
        var encoded: [EncodedIssueEvent] = []
        encoded.reserveCapacity(events.count)
        var latest: [String: Int] = [:]
        for event in events {
            latest[event.issueId] = encoded.count
            encoded.append(EncodedIssueEvent(event))
        }
        let rows = latest.values.sorted().map { encoded[$0] }
        try await upsert(rows, bases: rows.map { current[$0.event.issueId]?.basis }, on: connection, logger: logger)
        try await appendHistory(encoded, on: connection, logger: logger)
        return encoded
    }

    /// Locks and returns the latest event of each existing issue.
    static func lock(ids: [String], on connection: PostgresConnection, logger: Logger) async throws
        -> [String: IssueEvent]
    {
        try await lockWithBasis(ids: ids, on: connection, logger: logger).mapValues(\.event)
    }

    /// Locks and returns the latest event of each existing issue, with the evidence its operator action was given on.
    static func lockWithBasis(ids: [String], on connection: PostgresConnection, logger: Logger) async throws
        -> [String: IssueState]
    {
        let rows = try await connection.query(
            """
            SELECT event::text, action_basis::text FROM assurance.issues WHERE issue_id = ANY(\(ids)::text[])
            ORDER BY issue_id FOR UPDATE
            """,
            logger: logger)
        var result: [String: IssueState] = [:]
        for try await (text, basis) in rows.decode((String, String?).self) {
            let event = try JSONReader.decode(IssueEvent.self, from: text)
            result[event.issueId] = IssueState(
                event: event, basis: try basis.map { try JSONReader.decode(ActionBasis.self, from: $0) })
        }
        return result
    }

    /// The latest event of one issue, without locking.
    public static func find(issueId: String, on connection: PostgresConnection, logger: Logger) async throws
        -> IssueEvent?
    {
        let rows = try await connection.query(
            "SELECT event::text FROM assurance.issues WHERE issue_id = \(issueId)", logger: logger)
        for try await text in rows.decode(String.self) {
            return try JSONReader.decode(IssueEvent.self, from: text)
        }
        return nil
    }

    /// The latest event of one issue, locked for the caller's transaction.
    public static func lockOne(issueId: String, on connection: PostgresConnection, logger: Logger) async throws
        -> IssueEvent?
    {
        try await lock(ids: [issueId], on: connection, logger: logger)[issueId]
    }

    /// Open issues whose snooze has run out at `atMs` (the sweeper clears them), ordered by id.
    public static func snoozesEnded(atMs: Int64, limit: Int, on connection: PostgresConnection, logger: Logger)
        async throws -> [(issueId: String, check: CheckKind)]
    {
        let rows = try await connection.query(
            """
            SELECT issue_id, check_name FROM assurance.issues
            WHERE snoozed_until <= \(Timestamp.format(atMs))::timestamptz AND status = 'open'
            ORDER BY issue_id LIMIT \(limit)
            """, logger: logger)
        var result: [(issueId: String, check: CheckKind)] = []
        for try await (id, check) in rows.decode((String, String?).self) {
            guard let kind = check.flatMap(CheckKind.init(rawValue:)) ?? CheckKind.of(issueId: id) else { continue }
            result.append((id, kind))
        }
        return result
    }

    /// Every event of one issue in version order (its history), or empty for an unknown id.
    public static func history(issueId: String, on connection: PostgresConnection, logger: Logger) async throws
        -> [IssueEvent]
    {
        let rows = try await connection.query(
            "SELECT event::text FROM assurance.issue_events WHERE issue_id = \(issueId) ORDER BY version",
            logger: logger)
        var result: [IssueEvent] = []
        for try await text in rows.decode(String.self) {
            result.append(try JSONReader.decode(IssueEvent.self, from: text))
        }
        return result
    }

    /// Every issue currently open, ordered by id.
    public static func open(on connection: PostgresConnection, logger: Logger) async throws -> [IssueEvent] {
        let rows = try await connection.query(
            "SELECT event::text FROM assurance.issues WHERE status = 'open' ORDER BY issue_id", logger: logger)
        var result: [IssueEvent] = []
        for try await text in rows.decode(String.self) {
            result.append(try JSONReader.decode(IssueEvent.self, from: text))
        }
        return result
    }

    /// The ids of the open issues of one check whose `userId` is `userId`, sorted.
    public static func openIssueIds(userId: String, check: CheckKind, on connection: PostgresConnection, logger: Logger)
        async throws -> [String]
    {
        let rows = try await connection.query(
            """
            SELECT issue_id FROM assurance.issues
            WHERE status = 'open' AND user_id = \(userId) AND check_name = \(check.rawValue) ORDER BY issue_id
            """, logger: logger)
        var ids: [String] = []
        for try await id in rows.decode(String.self) { ids.append(id) }
        return ids
    }

    static func upsert(
        _ events: [EncodedIssueEvent], bases: [ActionBasis?], on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !events.isEmpty else { return }
        let ids = events.map(\.event.issueId)
        let jsons = events.map { String(decoding: $0.json, as: UTF8.self) }
        // JSON `null` for no action (arrays of optionals do not bind); stored as SQL NULL.
        let basisJSONs: [String] = bases.map { basis in
            basis.map { String(decoding: $0.jsonBytes(), as: UTF8.self) } ?? "null"
        }
        try await connection.query(
            """
            INSERT INTO assurance.issues (issue_id, version, status, check_name, category, severity, user_id,
              revenue_impacting, repair_action, title, evidence, event, explanation, first_seen_at, last_seen_at,
              resolved_at, resolution, snoozed_until, action_basis)
            SELECT i, (e->>'version')::bigint, e->>'status', e->>'check', e->>'category', e->>'severity', e->>'userId',
              (e->>'revenueImpacting')::bool, e->'repair'->>'action', e->>'title', e->'evidence', e,
              CASE WHEN jsonb_typeof(e->'explanation') = 'object' THEN e->'explanation' END,
              (e->>'firstSeenAt')::timestamptz, (e->>'lastSeenAt')::timestamptz, (e->>'resolvedAt')::timestamptz,
              e->>'resolution', (e->>'snoozedUntil')::timestamptz, NULLIF(b, 'null'::jsonb)
            FROM unnest(\(ids)::text[], \(jsons)::jsonb[], \(basisJSONs)::jsonb[]) AS u(i, e, b)
            ON CONFLICT (issue_id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status,
              user_id = EXCLUDED.user_id, title = EXCLUDED.title, evidence = EXCLUDED.evidence, event = EXCLUDED.event,
              explanation = EXCLUDED.explanation, first_seen_at = EXCLUDED.first_seen_at,
              last_seen_at = EXCLUDED.last_seen_at, resolved_at = EXCLUDED.resolved_at,
              resolution = EXCLUDED.resolution, repair_action = EXCLUDED.repair_action,
              snoozed_until = EXCLUDED.snoozed_until, action_basis = EXCLUDED.action_basis
            """, logger: logger)
    }

    /// Keeps every event of every issue, with its cause (`GET …/issues/{issueId}`).
    static func appendHistory(_ events: [EncodedIssueEvent], on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard !events.isEmpty else { return }
        let ids = events.map(\.event.issueId)
        let versions = events.map(\.event.version)
        let jsons = events.map { String(decoding: $0.json, as: UTF8.self) }
        try await connection.query(
            """
            INSERT INTO assurance.issue_events (issue_id, version, event)
            SELECT * FROM unnest(\(ids)::text[], \(versions)::bigint[], \(jsons)::jsonb[])
            ON CONFLICT (issue_id, version) DO NOTHING
            """, logger: logger)
    }
}

/// An issue event and its JSON (`jsonBytes()`), written once for the issue row, the history and the outbox.
public struct EncodedIssueEvent: Sendable {
    public var event: IssueEvent
    public var json: [UInt8]

    public init(event: IssueEvent, json: [UInt8]) {
        self.event = event
        self.json = json
    }

    public init(_ event: IssueEvent) {
        self.init(event: event, json: event.jsonBytes())
    }
}
