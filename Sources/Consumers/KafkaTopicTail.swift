import Foundation
import Logging
import Shared

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
    private let closed = KafkaLockedState(false)

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
        let failure = KafkaLockedState<KafkaError?>(nil)
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread { [client, topics, fromBeginning, closed, logger] in
                    defer { continuation.resume() }
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
                    } catch let error as KafkaError {
                        failure.withLock { $0 = error }
                    } catch {
                        failure.withLock { $0 = KafkaError.local(.state, "\(error)") }
                    }
                }
                thread.name = "assure.kafka.tail"
                thread.start()
            }
        } onCancel: {
            close()
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }

    /// Stops reading; ``run(_:)`` returns.
    public func close() { closed.withLock { $0 = true } }
}
