import Shared

/// What a ``KafkaConsumerGroup`` hands its caller, in order.
public enum KafkaConsumerEvent: Sendable {
    /// Up to ``KafkaConfiguration/maxBatchSize`` records: what arrived while the caller processed the
    /// batch before, or, when the caller waits, the records fetched so far (for at most
    /// ``KafkaConfiguration/maxBatchWaitMs`` after the first one).
    case records(KafkaRecordBatch)
    /// Partitions are about to be taken away. Every batch of theirs came before this event.
    /// Finish and persist their state, then call ``KafkaPartitionRevocation/done()``.
    case partitionsRevoked(KafkaPartitionRevocation)
    /// Partitions were given to this member. Look up where to resume and call
    /// ``KafkaPartitionAssignment/start(from:)``; no record of theirs arrives before that.
    case partitionsAssigned(KafkaPartitionAssignment)
}

/// One batch of consumed records.
public struct KafkaRecordBatch: Sendable {
    public var records: [InboundRecord]

    public init(records: [InboundRecord]) { self.records = records }

    /// Per partition, the offset to resume from once this batch is processed (last offset + 1).
    public var nextOffsets: [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        for record in records {
            let partition = TopicPartition(topic: record.topic, partition: record.partition)
            result[partition] = max(result[partition] ?? Int64.min, record.offset + 1)
        }
        return result
    }
}

/// A revocation waiting for the caller: librdkafka's rebalance callback (on the consumer's own
/// thread) waits, bounded by ``KafkaConfiguration/rebalanceAnswerTimeoutMs``, until ``done()``.
///
/// If it is dropped unanswered, it answers ``done()`` itself.
public final class KafkaPartitionRevocation: Sendable {
    /// The partitions being revoked (the whole assignment: the group uses eager assignors).
    public let partitions: [TopicPartition]
    private let answer: KafkaRebalanceAnswerSlot

    init(partitions: [TopicPartition], answer: KafkaRebalanceAnswerSlot) {
        self.partitions = partitions
        self.answer = answer
    }

    deinit { answer.answer([:]) }

    /// The caller is done with the revoked partitions; the rebalance may go on.
    public func done() { answer.answer([:]) }
}

/// An assignment waiting for the caller's start offsets: librdkafka's rebalance callback (on the
/// consumer's own thread) waits, bounded by ``KafkaConfiguration/rebalanceAnswerTimeoutMs``, until
/// ``start(from:)``.
///
/// If it is dropped unanswered, every partition starts from its Kafka-committed offset (or
/// `auto.offset.reset`).
public final class KafkaPartitionAssignment: Sendable {
    /// The partitions assigned to this member.
    public let partitions: [TopicPartition]
    private let answer: KafkaRebalanceAnswerSlot

    init(partitions: [TopicPartition], answer: KafkaRebalanceAnswerSlot) {
        self.partitions = partitions
        self.answer = answer
    }

    deinit { answer.answer([:]) }

    /// Starts consuming: each partition in `offsets` from that offset (the next one to read),
    /// any other from its Kafka-committed offset, or `auto.offset.reset` when there is none.
    /// Only the first answer counts.
    public func start(from offsets: [TopicPartition: Int64]) { answer.answer(offsets) }
}

/// Hands the caller's rebalance answer to the consumer thread waiting for it.
struct KafkaRebalanceAnswerSlot: Sendable {
    let id: UInt64
    let state: KafkaConsumerGroupState

    func answer(_ offsets: [TopicPartition: Int64]) { state.answerRebalance(id: id, offsets: offsets) }
}
