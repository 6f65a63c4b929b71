import Foundation
import Logging
import PostgresNIO
import Shared

/// One change to an issue, as the check pipeline or a repair decides it.
public struct IssueChange: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The condition holds (opens the issue, or updates it when its evidence changed).
        case open
        /// The condition no longer holds.
        case resolve(Resolution)
        /// An incident note; the issue stays open.
        case explain(Explanation)
    }

    public var issueId: String
    public var check: CheckKind
    public var userId: String?
    public var kind: Kind
    public var title: String
    public var evidence: JSONValue
    public var repair: RepairSuggestion?
    public var atMs: Int64

    public init(
        issueId: String, check: CheckKind, userId: String?, kind: Kind, title: String = "", evidence: JSONValue = .null,
        repair: RepairSuggestion? = nil, atMs: Int64
    ) {
        self.issueId = issueId
        self.check = check
        self.userId = userId
        self.kind = kind
        self.title = title
        self.evidence = evidence
        self.repair = repair
        self.atMs = atMs
    }
}

/// The cluster's issues: current state and the version counter that every event of an issue bumps.
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
        var current = try await lock(ids: ids, on: connection, logger: logger)
        var events: [IssueEvent] = []
        for change in changes {
            guard let event = nextEvent(after: current[change.issueId], for: change) else { continue }
            current[change.issueId] = event
            events.append(event)
        }
        let encoder = IssueEventCoding.encoder
        var encoded: [EncodedIssueEvent] = []
        encoded.reserveCapacity(events.count)
        var latest: [String: Int] = [:]
        for event in events {
            latest[event.issueId] = encoded.count
            encoded.append(EncodedIssueEvent(event: event, json: Array(try encoder.encode(event))))
        }
        try await upsert(latest.values.sorted().map { encoded[$0] }, on: connection, logger: logger)
        return encoded
    }

    /// The event a change yields after the issue's latest event, or `nil` when nothing changes.
    static func nextEvent(after previous: IssueEvent?, for change: IssueChange) -> IssueEvent? {
        let at = Timestamp.format(change.atMs)
        let version = (previous?.version ?? 0) + 1
        let isOpen = previous?.status == .open
        switch change.kind {
        case .open:
            if let previous, isOpen {
                guard previous.evidence != change.evidence || previous.title != change.title else { return nil }
                var event = previous
                event.version = version
                event.title = change.title
                event.evidence = change.evidence
                event.repair = change.repair
                event.lastSeenAt = at
                return event
            }
            return IssueEvent(
                issueId: change.issueId, version: version, status: .open, check: change.check, userId: change.userId,
                title: change.title, evidence: change.evidence, repair: change.repair, firstSeenAt: at, lastSeenAt: at)
        case .resolve(let resolution):
            guard var event = previous, isOpen else { return nil }
            event.version = version
            event.status = .resolved
            event.lastSeenAt = at
            event.resolvedAt = at
            event.resolution = resolution
            return event
        case .explain(let explanation):
            guard var event = previous, isOpen else { return nil }
            event.version = version
            event.explanation = explanation
            return event
        }
    }

    /// Locks and returns the latest event of each existing issue.
    static func lock(ids: [String], on connection: PostgresConnection, logger: Logger) async throws
        -> [String: IssueEvent]
    {
        let rows = try await connection.query(
            "SELECT event::text FROM assurance.issues WHERE issue_id = ANY(\(ids)::text[]) ORDER BY issue_id FOR UPDATE",
            logger: logger)
        var result: [String: IssueEvent] = [:]
        let decoder = JSONDecoder()
        for try await text in rows.decode(String.self) {
            let event = try decoder.decode(IssueEvent.self, from: Data(text.utf8))
            result[event.issueId] = event
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
            return try JSONDecoder().decode(IssueEvent.self, from: Data(text.utf8))
        }
        return nil
    }

    /// The latest event of one issue, locked for the caller's transaction.
    public static func lockOne(issueId: String, on connection: PostgresConnection, logger: Logger) async throws
        -> IssueEvent?
    {
        try await lock(ids: [issueId], on: connection, logger: logger)[issueId]
    }

    /// Every issue currently open, ordered by id.
    public static func open(on connection: PostgresConnection, logger: Logger) async throws -> [IssueEvent] {
        let rows = try await connection.query(
            "SELECT event::text FROM assurance.issues WHERE status = 'open' ORDER BY issue_id", logger: logger)
        var result: [IssueEvent] = []
        let decoder = JSONDecoder()
        for try await text in rows.decode(String.self) {
            result.append(try decoder.decode(IssueEvent.self, from: Data(text.utf8)))
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

    static func upsert(_ events: [EncodedIssueEvent], on connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        let ids = events.map(\.event.issueId)
        let jsons = events.map { String(decoding: $0.json, as: UTF8.self) }
        try await connection.query(
            """
            INSERT INTO assurance.issues (issue_id, version, status, check_name, category, severity, user_id,
              revenue_impacting, repair_action, title, evidence, event, explanation, first_seen_at, last_seen_at,
              resolved_at, resolution)
            SELECT i, (e->>'version')::bigint, e->>'status', e->>'check', e->>'category', e->>'severity', e->>'userId',
              (e->>'revenueImpacting')::bool, e->'repair'->>'action', e->>'title', e->'evidence', e,
              CASE WHEN jsonb_typeof(e->'explanation') = 'object' THEN e->'explanation' END,
              (e->>'firstSeenAt')::timestamptz, (e->>'lastSeenAt')::timestamptz, (e->>'resolvedAt')::timestamptz,
              e->>'resolution'
            FROM unnest(\(ids)::text[], \(jsons)::jsonb[]) AS u(i, e)
            ON CONFLICT (issue_id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status,
              title = EXCLUDED.title, evidence = EXCLUDED.evidence, event = EXCLUDED.event,
              explanation = EXCLUDED.explanation, first_seen_at = EXCLUDED.first_seen_at,
              last_seen_at = EXCLUDED.last_seen_at, resolved_at = EXCLUDED.resolved_at,
              resolution = EXCLUDED.resolution, repair_action = EXCLUDED.repair_action
            """, logger: logger)
    }
}

/// An issue event and its JSON (`IssueEventCoding`).
public struct EncodedIssueEvent: Sendable {
    public var event: IssueEvent
    public var json: [UInt8]

    public init(event: IssueEvent, json: [UInt8]) {
        self.event = event
        self.json = json
    }
}

/// The one JSON encoder configuration of output events.
public enum IssueEventCoding {
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }
}
