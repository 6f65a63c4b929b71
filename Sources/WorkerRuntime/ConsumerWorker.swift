import Consumers
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Shared

/// One member of the consumer group: joins it, resumes assigned partitions from the offsets stored in
/// PostgreSQL, and processes batches until graceful shutdown, when it finishes the batch in flight and
/// leaves the group.
public struct ConsumerWorker: Service {
    let group: KafkaConsumerGroup
    let processor: BatchProcessor
    let relayWakeup: WakeupSignal
    let alertWakeup: WakeupSignal
    let status: WorkerStatus
    let logger: Logger
    let metrics = WorkerMetrics()

    public init(
        group: KafkaConsumerGroup, processor: BatchProcessor, relayWakeup: WakeupSignal, alertWakeup: WakeupSignal,
        status: WorkerStatus, logger: Logger
    ) {
        self.group = group
        self.processor = processor
        self.relayWakeup = relayWakeup
        self.alertWakeup = alertWakeup
        self.status = status
        self.logger = logger
    }

    public func run() async throws {
        status.setConsuming(true)
        defer { status.setConsuming(false) }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            // The transaction of one batch runs (as a child task in `commits`) while the next is prepared.
            try await withThrowingTaskGroup(of: Bool.self) { commits in
                var pipeline = BatchPipeline(
                    processor: processor,
                    committed: { [status] summary in
                        status.batchCommitted(nowMs: WallClock.nowMs())
                        if summary.issueEvents > 0 || summary.commands > 0 || summary.deadLetters > 0 {
                            relayWakeup.signal()
                            alertWakeup.signal()
                        }
                    })
                for await event in group.events {
                    switch event {
                    case .records(let batch):
                        status.batchStarted(nowMs: WallClock.nowMs())
                        // Delivered, whatever becomes of the records (contract, *Input health*).
                        await processor.inputHealth.recordDelivery(of: batch.records)
                        do {
                            // A batch is never skipped and never stops the worker (`BatchFailure`), but
                            // for a record the bad-record policy says must stop it.
                            try await pipeline.submit(batch.records, commits: &commits)
                        } catch let error as BatchProcessor.UnusableRecord {
                            logger.critical("Stopping: unusable input record", metadata: ["assure.error": "\(error)"])
                            throw error
                        }
                        var waiting: Int64 = 0
                        for (partition, lag) in group.lag(after: batch.nextOffsets) {
                            metrics.consumerLag(topic: partition.topic, partition: partition.partition, lag: lag)
                            waiting += max(0, lag)
                        }
                        status.lag(waiting, nowMs: WallClock.nowMs())
                    case .partitionsAssigned(let assignment):
                        logger.debug("Assignment: finishing the batch in flight")
                        try await pipeline.drain(commits: &commits)
                        // Cached states of partitions another worker took over would only cost redos.
                        processor.cache.removeAll()
                        let offsets = try await loadOffsets(assignment.partitions)
                        logger.info(
                            "Resuming assigned partitions from stored offsets",
                            metadata: ["assure.kafka.offsets": "\(offsets.sorted { $0.key < $1.key })"])
                        assignment.start(from: offsets)
                    case .partitionsRevoked(let revocation):
                        // The batch in flight commits before the partitions go.
                        logger.debug("Revocation: finishing the batch in flight")
                        try await pipeline.drain(commits: &commits)
                        processor.cache.removeAll()
                        status.resetProgress()
                        metrics.removeConsumerLag(revocation.partitions)
                        revocation.done()
                    }
                }
                try await pipeline.drain(commits: &commits)
            }
            try await tasks.waitForAll()
        }
    }

    /// The stored offsets of newly assigned partitions; a database away for a while (restarting,
    /// unreachable) is waited out rather than ending the worker.
    func loadOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        let (client, settings, logger) = (processor.client, processor.settings, self.logger)
        return try await BatchFailure.retrying("Loading stored offsets", logger: logger) {
            try await settings.databaseDeadline.run("loading stored offsets") {
                try await client.withConnection { connection in
                    try await OffsetRepository.load(
                        group: settings.groupId, partitions: partitions, on: connection, logger: logger)
                }
            }
        }
    }
}
