import Foundation
import Logging
import Shared
import Synchronization

/// Reads every partition of some topics by direct assignment, outside any consumer group (so it
/// never takes partitions from a group's members), from the end of each partition or from the
/// beginning. For followers like `assure-worker watch`.
///
/// The blocking librdkafka calls (metadata, poll, close) run on one dedicated thread.
public final class KafkaTopicTail: Sendable {
    private let client: RDKafkaClient
    private let topics: [String]
    private let fromBeginning: Bool
    private let logger: Logger
    private let closed = Mutex(false)

    /// `configuration` gives the brokers and any librdkafka property; its group id is never joined.
    public init(topics: [String], configuration: KafkaConfiguration, fromBeginning: Bool, logger: Logger) throws {
        var properties = configuration.consumerProperties
        // A group id is required by the consumer, but assign() never joins it and nothing is committed.
        properties["group.id"] = "assure-tail-unused"
        self.client = try RDKafkaClient.make(kind: .consumer, properties: properties, callbacks: RDKafkaCallbacks(logger: logger))
        self.topics = topics
        self.fromBeginning = fromBeginning
        self.logger = logger
    }

    /// Assigns every partition of the topics, then hands each record to `handle` (on the reading
    /// thread, in partition order) until ``close()`` or cancellation.
    public func run(_ handle: @escaping @Sendable (InboundRecord) -> Void) async throws {
        let failure = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<KafkaError?, Never>) in
                let thread = Thread { [self] in continuation.resume(returning: read(handle)) }
                thread.name = "assure.kafka.tail"
                thread.start()
            }
        } onCancel: {
            close()
        }
        if let failure { throw failure }
    }

    /// The reading thread's work; returns why it stopped early, if it did.
    private func read(_ handle: @Sendable (InboundRecord) -> Void) -> KafkaError? {
        do {
            var partitions: [TopicPartition: Int64] = [:]
            for topic in topics {
                let count = try client.partitionCount(of: topic, timeoutMs: 10_000)
                for partition in 0..<count {
                    partitions[TopicPartition(topic: topic, partition: partition)] =
                        fromBeginning ? RDKafkaClient.offsetBeginning : RDKafkaClient.offsetEnd
                }
            }
            try client.assign(partitions)
            while !closed.withLock({ $0 }) {
                switch client.consumerPoll(timeoutMs: 100) {
                case .success(let record)?: handle(record)
                case .failure(let error)?:
                    logger.debug("Kafka tail read error", metadata: ["assure.error": "\(error)"])
                case nil: break
                }
            }
            try? client.consumerClose()
            return nil
        } catch let error as KafkaError {
            return error
        } catch {
            return KafkaError.local(.state, "\(error)")
        }
    }

    /// Stops reading; ``run(_:)`` returns.
    public func close() { closed.withLock { $0 = true } }
}
