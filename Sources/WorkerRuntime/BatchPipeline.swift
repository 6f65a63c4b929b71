import Logging
import Persistence
import PostgresNIO
import Shared

/// Overlaps one batch's transaction with the CPU work of the next.
///
/// `submit` prepares a batch (`BatchProcessor.prepare`: decoding, the pipeline, encoding, on states
/// the batch before leaves in the cache) while the batch before is in PostgreSQL, then waits for that
/// transaction and starts the new one, as a child task of the caller's `commits` group. So the worker
/// and PostgreSQL work at the same time, yet transactions still commit one after the other, in order.
///
/// A prepared batch whose transaction fails (another writer changed a state it read, its records were
/// processed already, the database went away) is redone at once by its task, the sequential way with
/// every state locked and read from the database (`sequential` with `bypassingCache`, which retries).
/// It was possibly the base of the next batch: the cache is emptied and the next batch prepared
/// again. Batches with commands always go the sequential way.
public struct BatchPipeline {
    public typealias Commits = ThrowingTaskGroup<Bool, any Error>

    let processor: BatchProcessor
    /// Processes a batch the sequential way (optionally bypassing the cache), retrying until it is committed.
    let sequential: @Sendable (_ records: [InboundRecord], _ bypassingCache: Bool) async throws -> BatchProcessor.Summary
    /// Hears about every committed batch, in order, as soon as it is committed.
    let committed: @Sendable (BatchProcessor.Summary) -> Void
    let logger: Logger
    private var inFlight = false
    private var watermarkMs = Int64.min

    public init(
        processor: BatchProcessor, logger: Logger,
        sequential: @escaping @Sendable (_ records: [InboundRecord], _ bypassingCache: Bool) async throws
            -> BatchProcessor.Summary,
        committed: @escaping @Sendable (BatchProcessor.Summary) -> Void = { _ in }
    ) {
        self.processor = processor
        self.logger = logger
        self.sequential = sequential
        self.committed = committed
    }

    /// Prepares `records` while the batch before commits, then starts their transaction.
    public mutating func submit(_ records: [InboundRecord], commits: inout Commits) async throws {
        guard !records.isEmpty else { return }
        let commandTopic = processor.settings.topics.commands
        if records.contains(where: { $0.topic == commandTopic }) {
            // Commands have transactions of their own after the data's.
            try await drain(commits: &commits)
            committed(try await sequential(records, false))
            return
        }
        guard var prepared = try await prepareOrFallBack(records, commits: &commits) else { return }
        if try await !finishInFlight(commits: &commits) {
            // The batch before was redone from the database: prepare this one again on top of it.
            guard let again = try await prepareOrFallBack(records, commits: &commits) else { return }
            prepared = again
        }
        watermarkMs = max(watermarkMs, prepared.watermarkMs)
        let batch = prepared
        let (processor, sequential, committed, logger) = (self.processor, self.sequential, self.committed, self.logger)
        commits.addTask {
            do {
                let summary = try await processor.settings.databaseDeadline.run(
                    "the transaction of a batch of \(batch.records.count) records"
                ) { try await processor.commit(batch) }
                committed(summary)
                return true
            } catch {
                let cause = (error as? PostgresTransactionError)?.closureError ?? error
                let conflict =
                    EntityStateRepository.isConcurrencyConflict(error) || cause is BatchProcessor.PreparedBatchFenced
                if conflict { processor.metrics.stateConflict() }
                logger.log(
                    level: conflict ? .debug : .warning, "Prepared batch not committed; redoing it sequentially",
                    metadata: ["assure.error": "\(error)"])
                // The cache may hold this batch's results and the next one's: read states from the database.
                var summary = try await sequential(batch.records, true)
                logger.debug("Prepared batch redone", metadata: ["assure.batch.records": "\(summary.records)"])
                if conflict { summary.stateConflicts += 1 }
                committed(summary)
                return false
            }
        }
        inFlight = true
    }

    /// The prepared batch, or `nil` when preparing failed and the batch was processed the sequential
    /// way instead (reading states failed: the database is away, and the sequential way retries).
    /// Never throws a transient failure, which would end the worker.
    private mutating func prepareOrFallBack(_ records: [InboundRecord], commits: inout Commits) async throws
        -> BatchProcessor.PreparedBatch?
    {
        do {
            return try await prepare(records)
        } catch let error as BatchProcessor.UnusableRecord {
            try await drain(commits: &commits)
            throw error
        } catch {
            logger.warning("Preparing a batch failed; processing it sequentially", metadata: ["assure.error": "\(error)"])
            try await drain(commits: &commits)
            processor.cache.removeAll()
            committed(try await sequential(records, false))
            return nil
        }
    }

    /// `BatchProcessor.prepare` under the database deadline (it reads states).
    private func prepare(_ records: [InboundRecord]) async throws -> BatchProcessor.PreparedBatch {
        let (processor, watermarkMs) = (self.processor, self.watermarkMs)
        return try await processor.settings.databaseDeadline.run("reading the states of \(records.count) records") {
            try await processor.prepare(records, watermarkMs: watermarkMs)
        }
    }

    /// Waits until the batch in flight is committed (or redone, if its prepared transaction failed).
    public mutating func drain(commits: inout Commits) async throws {
        _ = try await finishInFlight(commits: &commits)
    }

    /// `false` when the batch in flight had to be redone: then the cache holds results that never
    /// committed and is emptied.
    private mutating func finishInFlight(commits: inout Commits) async throws -> Bool {
        guard inFlight else { return true }
        inFlight = false
        guard let committedAsPrepared = try await commits.next() else { return true }
        if !committedAsPrepared { processor.cache.removeAll() }
        return committedAsPrepared
    }
}
