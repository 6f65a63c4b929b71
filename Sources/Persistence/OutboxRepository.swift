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
        let keys = messages.map { $0.key.map { String(decoding: $0, as: UTF8.self) } ?? "" }
        let payloads = messages.map { ByteBuffer(bytes: $0.value ?? []) }
        try await connection.query(
            """
            INSERT INTO assurance.outbox (topic, key, payload)
            SELECT t, NULLIF(k, ''), p FROM unnest(\(topics)::text[], \(keys)::text[], \(payloads)::bytea[])
              WITH ORDINALITY AS u(t, k, p, n) ORDER BY n
            """, logger: logger)
    }

    /// The oldest unsent rows, at most `limit`.
    public static func pending(limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [Entry] {
        let rows = try await connection.query(
            """
            SELECT id, topic, key, payload FROM assurance.outbox WHERE sent_at IS NULL ORDER BY id LIMIT \(limit)
            """, logger: logger)
        var entries: [Entry] = []
        for try await (id, topic, key, payload) in rows.decode((Int64, String, String?, ByteBuffer).self) {
            let message = OutboundMessage(
                topic: topic, key: key.map { Array($0.utf8) }, value: Array(buffer: payload))
            entries.append(Entry(id: id, message: message))
        }
        return entries
    }

    /// Marks rows as published.
    public static func markSent(ids: [Int64], on connection: PostgresConnection, logger: Logger) async throws {
        guard !ids.isEmpty else { return }
        try await connection.query(
            "UPDATE assurance.outbox SET sent_at = now() WHERE id = ANY(\(ids)::bigint[])", logger: logger)
    }

    /// Records why the cluster refused rows for good; `markSent` then takes them out of the queue.
    public static func markRefused(_ rows: [(id: Int64, error: String)], on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard !rows.isEmpty else { return }
        try await connection.query(
            """
            UPDATE assurance.outbox o SET refused_error = u.e FROM unnest(\(rows.map(\.id))::bigint[], \(rows.map(\.error))::text[]) AS u(i, e)
            WHERE o.id = u.i
            """, logger: logger)
    }

    /// How many rows wait to be published.
    public static func backlog(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query(
            "SELECT count(*) FROM assurance.outbox WHERE sent_at IS NULL", logger: logger)
        for try await count in rows.decode(Int64.self) { return count }
        return 0
    }
}
