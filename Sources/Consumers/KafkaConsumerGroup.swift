import Foundation
import Logging
import ServiceLifecycle
import Shared

/// A member of a Kafka consumer group that hands its caller batches of records and asks it,
/// before every assignment takes effect, where to resume.
///
/// Offsets are the caller's business: the group never commits (`enable.auto.commit=false`,
/// `enable.auto.offset.store=false`); the caller stores them where it stores its state and
/// returns them from ``KafkaPartitionAssignment/start(from:)``.
///
/// All blocking librdkafka calls (poll, close) run on one dedicated thread per group. The
/// rebalance callback runs there too: it first hands the caller the records gathered so far, then
/// a ``KafkaConsumerEvent/partitionsRevoked(_:)`` or ``KafkaConsumerEvent/partitionsAssigned(_:)``
/// event, and waits for the answer. The hand-over is ``KafkaConsumerGroupStateMachine``.
///
/// Usage: run the group as a `Service`, and iterate ``events`` in another task until it ends.
/// - Important: ``events`` supports one iteration. On graceful shutdown (or ``close()``) the group
///   delivers a final revocation, leaves the group, and then ``events`` ends; keep iterating until
///   then so state for the revoked partitions can be flushed.
public final class KafkaConsumerGroup: Service, Sendable {
    /// The events of this member, in order: batches and rebalances.
    public let events: KafkaConsumerEvents
    /// The topics this member subscribes to.
    public let topics: [String]

    private let client: RDKafkaClient
    private let state: KafkaConsumerGroupState
    private let configuration: KafkaConfiguration
    private let logger: Logger

    /// How many events may wait for the caller before the thread stops polling.
    static let maxBufferedEvents = 2

    public init(topics: [String], configuration: KafkaConfiguration, logger: Logger) throws {
        let state = KafkaConsumerGroupState(
            maxBufferedEvents: Self.maxBufferedEvents, rebalanceAnswerTimeoutMs: configuration.rebalanceAnswerTimeoutMs)
        let callbacks = RDKafkaCallbacks(
            logger: logger,
            onRebalance: { rebalance in
                switch rebalance {
                case .assign(let partitions):
                    logger.info("Kafka partitions assigned", metadata: ["assure.kafka.partitions": "\(partitions)"])
                case .revoke(let partitions):
                    logger.info("Kafka partitions revoked", metadata: ["assure.kafka.partitions": "\(partitions)"])
                }
                return state.rebalance(rebalance)
            })
        self.client = try RDKafkaClient.make(
            kind: .consumer, properties: configuration.consumerProperties, callbacks: callbacks)
        self.state = state
        self.events = KafkaConsumerEvents(state: state)
        self.topics = topics
        self.configuration = configuration
        self.logger = logger
    }

    /// Joins the group and consumes until graceful shutdown, ``close()`` or cancellation; then
    /// leaves the group. Throws when the group failed (for example an unanswered rebalance).
    public func run() async throws {
        guard state.start() else { throw KafkaError.local(.state, "KafkaConsumerGroup.run() called twice") }
        let state = self.state
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                // The thread resumes this when it has left the group.
                await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                    let thread = Thread { [client, topics, configuration, logger] in
                        KafkaConsumerGroup.threadMain(
                            client: client, state: state, topics: topics, configuration: configuration, logger: logger)
                        done.resume()
                    }
                    thread.name = "assure.kafka.consumer"
                    thread.start()
                }
            } onGracefulShutdown: {
                state.requestClose()
            }
        } onCancel: {
            state.abandon()
        }
        if let failure = state.failure { throw failure }
    }

    /// Leaves the group gracefully: the caller gets a final revocation, then ``events`` ends.
    public func close() { state.requestClose() }

    /// Consumer lag per partition: the high watermark last seen in fetch responses minus `nextOffsets`
    /// (the next offset the caller will process). Non-blocking; partitions not fetched yet are absent.
    public func lag(after nextOffsets: [TopicPartition: Int64]) -> [TopicPartition: Int64] {
        var lag: [TopicPartition: Int64] = [:]
        for (partition, next) in nextOffsets {
            if let high = client.cachedHighWatermark(partition) { lag[partition] = max(0, high - next) }
        }
        return lag
    }

    // MARK: The dedicated thread

    private static func threadMain(
        client: RDKafkaClient, state: KafkaConsumerGroupState, topics: [String], configuration: KafkaConfiguration,
        logger: Logger
    ) {
        var failure: KafkaError?
        do {
            try client.subscribe(topics)
            while state.shouldPoll() {
                pollBatch(client: client, state: state, configuration: configuration, logger: logger)
            }
            state.flushPending()
            try client.consumerClose()
            logger.info("Kafka consumer left the group", metadata: ["assure.kafka.topics": "\(topics)"])
        } catch let error as KafkaError {
            failure = error
            logger.error("Kafka consumer failed", metadata: ["assure.kafka.error": "\(error)"])
        } catch {
            failure = KafkaError.local(.state, "\(error)")
        }
        state.finish(failure: failure)
    }

    /// Gathers records into the pending batch until it is handed over.
    ///
    /// Batches adapt to the backlog: while the caller is busy, records gather (up to `maxBatchSize`
    /// records or `maxBatchBytes` bytes, then the batch is buffered) and the caller takes what has
    /// gathered when it asks for the next event; while the caller waits, a batch is handed over as
    /// soon as the records fetched so far are consumed (nothing more queued locally), or
    /// `maxBatchWaitMs` after its first record if records keep coming. A quiet stream thus gets small
    /// batches at once (latency) and a backlog large ones (throughput), without a fixed wait per batch.
    private static func pollBatch(
        client: RDKafkaClient, state: KafkaConsumerGroupState, configuration: KafkaConfiguration, logger: Logger
    ) {
        var deadline: ContinuousClock.Instant?
        var polled = 0
        while true {
            let (count, callerWaiting) = state.pendingStatus
            var timeoutMs: Int32 = 100
            if count > 0 {
                if callerWaiting {
                    if deadline == nil { deadline = .now + .milliseconds(configuration.maxBatchWaitMs) }
                    timeoutMs = 0
                } else {
                    // The caller takes the batch when it is ready; meanwhile keep gathering, returning
                    // now and then to see a close.
                    timeoutMs = 10
                }
            }
            switch client.consumerPoll(timeoutMs: timeoutMs) {
            case nil:
                if count == 0 { return }
                if callerWaiting {
                    state.flushPending()
                    return
                }
                if state.interruptsPolling { return }
            case .success(let record)?:
                let gathered = state.append(record)
                if gathered.count >= configuration.maxBatchSize || gathered.bytes >= configuration.maxBatchBytes {
                    state.flushPending()
                    return
                }
            case .failure(let error)?:
                logger.warning("Kafka consumer error", metadata: ["assure.kafka.error": "\(error)"])
            }
            polled += 1
            if polled % 256 == 0, state.interruptsPolling { return }
            if let deadline, ContinuousClock.now >= deadline {
                state.flushPending()
                return
            }
        }
    }
}

/// The events of a ``KafkaConsumerGroup``; one iteration only.
public struct KafkaConsumerEvents: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerEvent
    let state: KafkaConsumerGroupState

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(token: Token(state: state)) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let token: Token

        public mutating func next() async -> KafkaConsumerEvent? { await token.state.nextEvent() }
    }

    /// Tells the group when the caller stops iterating, so rebalances no longer wait for it.
    final class Token: Sendable {
        let state: KafkaConsumerGroupState
        init(state: KafkaConsumerGroupState) { self.state = state }
        deinit { state.stopConsuming() }
    }
}
