import Logging
import PostgresNIO
import Shared

/// The consumer group's offsets, stored in PostgreSQL in the same transaction as the batch's effects.
///
/// Each row also carries the newest event time seen on its partition; the cluster's event-time
/// watermark is the maximum over all rows, so no single row is written by every batch.
public enum OffsetRepository {
    /// One partition's position after a batch.
    public struct Position: Sendable, Hashable {
        public var partition: TopicPartition
        public var nextOffset: Int64
        public var maxEventTimeMs: Int64?
        /// Records of this batch that changed state, went to the dead-letter topic, or were skipped.
        public var applied: Int64
        public var deadLetters: Int64
        public var skipped: Int64

        public init(
            partition: TopicPartition, nextOffset: Int64, maxEventTimeMs: Int64?, applied: Int64 = 0,
            deadLetters: Int64 = 0, skipped: Int64 = 0
        ) {
            self.partition = partition
            self.nextOffset = nextOffset
            self.maxEventTimeMs = maxEventTimeMs
            self.applied = applied
            self.deadLetters = deadLetters
            self.skipped = skipped
        }
    }

    /// The stored next offsets of the given partitions; partitions never committed are absent.
    public static func load(
        group: String, partitions: [TopicPartition], on connection: PostgresConnection, logger: Logger
    ) async throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let topics = partitions.map(\.topic)
        let numbers = partitions.map { Int32($0.partition) }
        let rows = try await connection.query(
            """
            SELECT o.topic, o.partition, o.next_offset FROM assurance.consumer_offsets o
            JOIN unnest(\(topics)::text[], \(numbers)::int[]) AS p(topic, partition)
              ON o.topic = p.topic AND o.partition = p.partition
            WHERE o.group_id = \(group)
            """, logger: logger)
        var result: [TopicPartition: Int64] = [:]
        for try await (topic, partition, next) in rows.decode((String, Int32, Int64).self) {
            result[TopicPartition(topic: topic, partition: partition)] = next
        }
        return result
    }

    /// Locks the offset rows of `partitions` for the caller's transaction (creating missing ones) and
    /// returns their stored next offsets: records below them were processed already, by this worker or
    /// by the member that owned the partition before a rebalance, and must be dropped.
    public static func lockForBatch(
        group: String, partitions: [TopicPartition], on connection: PostgresConnection, logger: Logger
    ) async throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let sorted = partitions.sorted()
        let topics = sorted.map(\.topic)
        let numbers = sorted.map { Int32($0.partition) }
        try await connection.query(
            """
            INSERT INTO assurance.consumer_offsets (group_id, topic, partition, next_offset, updated_at)
            SELECT \(group), t, p, 0, now() FROM unnest(\(topics)::text[], \(numbers)::int[]) WITH ORDINALITY AS u(t, p, n)
            ORDER BY n
            ON CONFLICT (group_id, topic, partition) DO NOTHING
            """, logger: logger)
        let rows = try await connection.query(
            """
            SELECT o.topic, o.partition, o.next_offset FROM assurance.consumer_offsets o
            JOIN unnest(\(topics)::text[], \(numbers)::int[]) AS p(topic, partition)
              ON o.topic = p.topic AND o.partition = p.partition
            WHERE o.group_id = \(group)
            ORDER BY o.topic, o.partition FOR UPDATE OF o
            """, logger: logger)
        var result: [TopicPartition: Int64] = [:]
        for try await (topic, partition, next) in rows.decode((String, Int32, Int64).self) {
            result[TopicPartition(topic: topic, partition: partition)] = next
        }
        return result
    }

    /// Totals per topic of what the group applied, for the report (ledger rows, webhook events).
    public static func appliedByTopic(group: String, on connection: PostgresConnection, logger: Logger) async throws
        -> [String: Int64]
    {
        let rows = try await connection.query(
            """
            SELECT topic, sum(applied)::bigint FROM assurance.consumer_offsets WHERE group_id = \(group) GROUP BY topic
            """, logger: logger)
        var result: [String: Int64] = [:]
        for try await (topic, total) in rows.decode((String, Int64).self) { result[topic] = total }
        return result
    }

    /// Stores the positions; offsets and event times only move forward.
    public static func store(
        group: String, positions: [Position], on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !positions.isEmpty else { return }
        let topics = positions.map(\.partition.topic)
        let numbers = positions.map { Int32($0.partition.partition) }
        let offsets = positions.map(\.nextOffset)
        let eventTimes = positions.map { $0.maxEventTimeMs ?? -1 }
        let applied = positions.map(\.applied)
        let deadLetters = positions.map(\.deadLetters)
        let skipped = positions.map(\.skipped)
        try await connection.query(
            """
            INSERT INTO assurance.consumer_offsets (group_id, topic, partition, next_offset, max_event_ms, applied,
              dead_letters, skipped, updated_at)
            SELECT \(group), t, p, o, NULLIF(e, -1), a, d, s, now()
            FROM unnest(\(topics)::text[], \(numbers)::int[], \(offsets)::bigint[], \(eventTimes)::bigint[],
              \(applied)::bigint[], \(deadLetters)::bigint[], \(skipped)::bigint[]) AS u(t, p, o, e, a, d, s)
            ON CONFLICT (group_id, topic, partition) DO UPDATE SET
              next_offset = GREATEST(assurance.consumer_offsets.next_offset, EXCLUDED.next_offset),
              max_event_ms = GREATEST(assurance.consumer_offsets.max_event_ms, EXCLUDED.max_event_ms),
              applied = assurance.consumer_offsets.applied + EXCLUDED.applied,
              dead_letters = assurance.consumer_offsets.dead_letters + EXCLUDED.dead_letters,
              skipped = assurance.consumer_offsets.skipped + EXCLUDED.skipped,
              updated_at = now()
            """, logger: logger)
    }

    /// The cluster-wide event-time watermark: the newest event time seen on any input partition.
    public static func watermark(group: String, on connection: PostgresConnection, logger: Logger) async throws -> Int64? {
        let rows = try await connection.query(
            "SELECT max(max_event_ms) FROM assurance.consumer_offsets WHERE group_id = \(group)", logger: logger)
        for try await (value) in rows.decode(Int64?.self) { return value }
        return nil
    }
}
