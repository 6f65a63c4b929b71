import Logging
import NIOCore
import PostgresNIO
import Shared

/// Output events waiting to be published, written in the same transaction as the change that caused them.
public enum OutboxRepository {
    /// One unsent outbox row.
    public struct Entry: Sendable, Hashable {
        public var id: Int64
        public var message: OutboundMessage
    }

    /// Appends messages in order; their ids grow in that order.
    public static func append(_ messages: [OutboundMessage], on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard !messages.isEmpty else { return }
        let topics = messages.map(\.topic)
        // The key byte for byte (binary keys, invalid UTF-8, NUL bytes); as text too where it is text.
        let keys = messages.map { $0.key.flatMap(Self.keyText) ?? "" }
        let keyBytes = messages.map { ByteBuffer(bytes: $0.key ?? []) }
        let hasKey = messages.map { $0.key != nil }
        let payloads = messages.map { ByteBuffer(bytes: $0.value ?? []) }
        try await connection.query(
            """
            INSERT INTO assurance.outbox (topic, key, key_bytes, payload)
            SELECT t, NULLIF(k, ''), CASE WHEN h THEN b END, p
            FROM unnest(\(topics)::text[], \(keys)::text[], \(keyBytes)::bytea[], \(hasKey)::bool[], \(payloads)::bytea[])
              WITH ORDINALITY AS u(t, k, b, h, p, n) ORDER BY n
            """, logger: logger)
    }

    /// The key as text, when it is valid UTF-8 without U+0000 (PostgreSQL's `text` cannot hold that).
    static func keyText(_ key: [UInt8]) -> String? {
        guard !key.contains(0), let text = String(validating: key, as: UTF8.self) else { return nil }
        return text
    }

    /// The oldest unsent rows that are due, at most `limit`: not a row waiting out the backoff after a
    /// refusal, nor a later row of the same topic and key as such a row (per-key order).
    public static func pending(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [Entry] {
        let rows = try await connection.query(
            """
            SELECT o.id, o.topic, o.key_bytes IS NOT NULL OR o.key IS NOT NULL,
                   coalesce(o.key_bytes, convert_to(coalesce(o.key, ''), 'UTF8')), o.payload
            FROM assurance.outbox o
            WHERE o.sent_at IS NULL AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= now())
              AND NOT EXISTS (
                SELECT 1 FROM assurance.outbox b
                WHERE b.sent_at IS NULL AND b.refused_since IS NOT NULL AND b.next_attempt_at > now()
                  AND b.topic = o.topic AND b.key_bytes = o.key_bytes AND b.id < o.id)
            ORDER BY o.id LIMIT \(limit)
            """, logger: logger)
        var entries: [Entry] = []
        for try await (id, topic, hasKey, key, payload) in rows.decode((Int64, String, Bool, ByteBuffer, ByteBuffer).self) {
            let message = OutboundMessage(
                topic: topic, key: hasKey ? Array(buffer: key) : nil, value: Array(buffer: payload))
            entries.append(Entry(id: id, message: message))
        }
        return entries
    }

    /// Advisory lock id of the outbox lease ("assure outbox" in ASCII, truncated).
    static let leaseId: Int64 = 0x6173_7375_7265_6f62

    /// Takes the single-publisher lease on this connection's session, if no other session holds it.
    /// Session-level on purpose: it outlives the short transactions of a relay round, and the server
    /// drops it when the session ends.
    public static func tryLease(on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT pg_try_advisory_lock(\(leaseId))", logger: logger)
        for try await acquired in rows.decode(Bool.self) { return acquired }
        return false
    }

    /// Gives the lease back, so the connection returns to the pool without it.
    public static func releaseLease(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_unlock(\(leaseId))", logger: logger)
    }

    /// Records a round's delivery reports in one short transaction: refused rows first, then sent rows.
    public static func mark(
        sent: [Int64], refused: [(id: Int64, error: String)], on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !sent.isEmpty || !refused.isEmpty else { return }
        try await connection.withTransaction(logger: logger) { connection in
            try await markRefused(refused, on: connection, logger: logger)
            try await markSent(ids: sent, on: connection, logger: logger)
        }
    }

    /// Marks rows as published.
    public static func markSent(ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            "UPDATE assurance.outbox SET sent_at = now() WHERE id = ANY(\(ids)::bigint[])", logger: logger)
    }

    /// Records that the cluster refused rows: they stay pending and are tried again after a backoff
    /// that doubles with every attempt (1 s up to 60 s); `refused_since` keeps the first refusal.
    public static func markRefused(_ rows: [(id: Int64, error: String)], on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard !rows.isEmpty else { return }
        try await connection.query(
            """
            UPDATE assurance.outbox o
            SET refused_error = u.e, attempts = o.attempts + 1, refused_since = coalesce(o.refused_since, now()),
                next_attempt_at = now() + least(60, power(2, least(o.attempts, 6)))::int * interval '1 second'
            FROM unnest(\(rows.map(\.id))::bigint[], \(rows.map(\.error))::text[]) AS u(i, e)
            WHERE o.id = u.i
            """, logger: logger)
    }

    /// How long the oldest row still refused by the cluster has been waiting, in seconds (nil: none).
    public static func oldestRefusalSeconds(on connection: PostgresConnection, logger: Logger) async throws -> Double? {
        let rows = try await connection.query(
            """
            SELECT extract(epoch FROM now() - min(refused_since))::float8 FROM assurance.outbox
            WHERE sent_at IS NULL AND refused_since IS NOT NULL
            """, logger: logger)
        for try await seconds in rows.decode(Double?.self) { return seconds }
        return nil
    }

    /// How many rows wait to be published.
    public static func backlog(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query(
            "SELECT count(*) FROM assurance.outbox WHERE sent_at IS NULL", logger: logger)
        for try await count in rows.decode(Int64.self) { return count }
        return 0
    }
}
