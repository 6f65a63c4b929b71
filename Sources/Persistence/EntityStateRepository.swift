import Logging
import NIOCore
import PostgresNIO
import Shared

/// The check pipeline's keyed state (users and cross-user facts), shared by every worker.
///
/// - Important: Callers lock before they read: `lockAndLoad` first creates missing rows (so two
///   workers creating the same key serialize on it instead of both starting from nothing), then takes
///   row locks in key order (so concurrent batches cannot deadlock), all inside the caller's transaction.
public enum EntityStateRepository {
    /// One stored entity state.
    public struct Row: Sendable, Hashable {
        public var key: String
        public var kind: String
        /// The pipeline's encoding of the state; empty for a key that has no state yet.
        public var state: [UInt8]
        public var settleDeadlineMs: Int64?
        public var staleAtEventMs: Int64?
        /// The row's version: 0 for a row created empty, one more with every write of its state.
        public var version: Int64

        public init(
            key: String, kind: String, state: [UInt8], settleDeadlineMs: Int64?, staleAtEventMs: Int64?,
            version: Int64 = 0
        ) {
            self.key = key
            self.kind = kind
            self.state = state
            self.settleDeadlineMs = settleDeadlineMs
            self.staleAtEventMs = staleAtEventMs
            self.version = version
        }
    }

    /// Creates missing rows, locks all rows of `keys` and returns their states (empty state for new keys).
    public static func lockAndLoad(
        keys: [(key: String, kind: String)], on connection: PostgresConnection, logger: Logger
    ) async throws -> [String: Row] {
        guard !keys.isEmpty else { return [:] }
        var unique: [String: String] = [:]
        for entry in keys { unique[entry.key] = entry.kind }
        let sortedKeys = unique.keys.sorted()
        let kinds = sortedKeys.map { unique[$0]! }
        let inserted = try await connection.query(
            """
            INSERT INTO assurance.entity_state (key, kind, state, updated_at)
            SELECT k, c, ''::bytea, now() FROM unnest(\(sortedKeys)::text[], \(kinds)::text[]) WITH ORDINALITY AS u(k, c, n)
            ORDER BY n
            ON CONFLICT (key) DO NOTHING
            RETURNING key
            """, logger: logger)
        var result: [String: Row] = [:]
        result.reserveCapacity(sortedKeys.count)
        // A row this transaction just inserted is already ours alone (others block on it until we
        // end): it needs neither a lock nor a read, which saves a lock record per new key.
        for try await key in inserted.decode(String.self) {
            result[key] = Row(key: key, kind: unique[key]!, state: [], settleDeadlineMs: nil, staleAtEventMs: nil)
        }
        let existing = result.isEmpty ? sortedKeys : sortedKeys.filter { result[$0] == nil }
        guard !existing.isEmpty else { return result }
        let rows = try await connection.query(
            """
            SELECT key, kind, state, settle_deadline_ms, stale_at_event_ms, version FROM assurance.entity_state
            WHERE key = ANY(\(existing)::text[]) ORDER BY key FOR UPDATE
            """, logger: logger)
        try await collect(rows, into: &result)
        return result
    }

    static func collect(_ rows: PostgresRowSequence, into result: inout [String: Row]) async throws {
        for try await (key, kind, state, settle, stale, version) in rows.decode(
            (String, String, ByteBuffer, Int64?, Int64?, Int64).self)
        {
            result[key] = Row(
                key: key, kind: kind, state: Array(buffer: state), settleDeadlineMs: settle, staleAtEventMs: stale,
                version: version)
        }
    }

    /// Writes changed states of rows locked by `lockAndLoad` in one statement, one version up each.
    public static func save(_ rows: [Row], on connection: PostgresConnection, logger: Logger) async throws {
        guard !rows.isEmpty else { return }
        let columns = Columns(rows)
        try await connection.query(
            """
            INSERT INTO assurance.entity_state (key, kind, state, settle_deadline_ms, stale_at_event_ms, updated_at, version)
            SELECT k, c, s, NULLIF(d, -1), NULLIF(e, -9223372036854775808), now(), 1
            FROM unnest(\(columns.keys)::text[], \(columns.kinds)::text[], \(columns.states)::bytea[],
              \(columns.settle)::bigint[], \(columns.stale)::bigint[]) AS u(k, c, s, d, e)
            ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, kind = EXCLUDED.kind,
              settle_deadline_ms = EXCLUDED.settle_deadline_ms, stale_at_event_ms = EXCLUDED.stale_at_event_ms,
              updated_at = now(), version = assurance.entity_state.version + 1
            """, logger: logger)
    }

    /// Keys whose settle deadline (processing time) or stale point (event time) has passed, oldest first.
    public static func dueKeys(
        nowMs: Int64, watermarkMs: Int64?, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [(key: String, kind: String)] {
        let watermark = watermarkMs ?? Int64.min
        let rows = try await connection.query(
            """
            (SELECT key, kind FROM assurance.entity_state WHERE settle_deadline_ms <= \(nowMs) LIMIT \(limit))
            UNION
            (SELECT key, kind FROM assurance.entity_state WHERE stale_at_event_ms <= \(watermark) LIMIT \(limit))
            """, logger: logger)
        var result: [(key: String, kind: String)] = []
        for try await (key, kind) in rows.decode((String, String).self) { result.append((key, kind)) }
        return result
    }

    /// All states of one kind, for the audit and the report (cold path).
    public static func all(kind: String, on connection: PostgresConnection, logger: Logger) async throws -> [Row] {
        let rows = try await connection.query(
            """
            SELECT key, kind, state, settle_deadline_ms, stale_at_event_ms FROM assurance.entity_state
            WHERE kind = \(kind) AND length(state) > 0 ORDER BY key
            """, logger: logger)
        return try await collectUnversioned(rows)
    }

    /// Rows of `SELECT key, kind, state, settle_deadline_ms, stale_at_event_ms`, in order (cold paths
    /// that never write back, so without their versions).
    static func collectUnversioned(_ rows: PostgresRowSequence) async throws -> [Row] {
        var result: [Row] = []
        for try await (key, kind, state, settle, stale) in rows.decode(
            (String, String, ByteBuffer, Int64?, Int64?).self)
        {
            result.append(
                Row(key: key, kind: kind, state: Array(buffer: state), settleDeadlineMs: settle, staleAtEventMs: stale))
        }
        return result
    }
}
