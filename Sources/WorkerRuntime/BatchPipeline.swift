import Shared

/// Overlaps one batch's transaction with the CPU work of the next: the one batch path
/// (`BatchProcessor.run`) with something to overlap.
///
/// `submit` prepares a batch (`BatchProcessor.prepare`: decoding, the pipeline, encoding, on states
/// the batch before leaves in the cache ahead of its commit) while the batch before is in PostgreSQL,
/// then waits for that transaction and starts the new one, as a child task of the caller's `commits`
/// group. So the worker and PostgreSQL work at the same time, yet transactions still commit one after
/// the other, in order.
///
/// A failure goes where every batch failure goes (`BatchFailure`): a prepared batch whose transaction
/// cannot commit as prepared is redone locked by its task, and one whose preparation failed is
/// processed from that failure on. Either way it was possibly the base of the next batch: the cache
/// is emptied and the next batch prepared again. Batches with commands are not overlapped.
public struct BatchPipeline {
    public typealias Commits = ThrowingTaskGroup<Bool, any Error>

    let processor: BatchProcessor
    /// Hears about every committed batch, in order, as soon as it is committed.
    let committed: @Sendable (BatchProcessor.Summary) -> Void
    private var inFlight = false
    private var watermarkMs = Int64.min

    public init(processor: BatchProcessor, committed: @escaping @Sendable (BatchProcessor.Summary) -> Void = { _ in }) {
        self.processor = processor
        self.committed = committed
    }

    /// Prepares `records` while the batch before commits, then starts their transaction.
    public mutating func submit(_ records: [InboundRecord], commits: inout Commits) async throws {
        guard !records.isEmpty else { return }
        let commandTopic = processor.settings.topics.commands
        if records.contains(where: { $0.topic == commandTopic }) {
            // Commands have transactions of their own after the data's: nothing to overlap.
            try await drain(commits: &commits)
            committed(try await processor.run(records, first: .optimistic).summary)
            return
        }
        guard var prepared = try await prepareOrRun(records, commits: &commits) else { return }
        if try await !finishInFlight(commits: &commits) {
            // The batch before was redone from the database: prepare this one again on top of it.
            guard let again = try await prepareOrRun(records, commits: &commits) else { return }
            prepared = again
        }
        watermarkMs = max(watermarkMs, prepared.watermarkMs)
        // Ahead of the commit, so that the next batch prepares on these states; `run` empties the
        // cache if the commit fails.
        processor.cache.store(prepared.write.after)
        let batch = prepared
        let (processor, committed) = (self.processor, self.committed)
        commits.addTask {
            let outcome = try await processor.run(batch.records, first: .prepared(batch))
            committed(outcome.summary)
            return outcome.committedAsPrepared
        }
        inFlight = true
    }

    /// The prepared batch, or `nil` when preparing failed and the batch was processed from that
    /// failure on (after the batch in flight).
    private mutating func prepareOrRun(_ records: [InboundRecord], commits: inout Commits) async throws
        -> BatchProcessor.PreparedBatch?
    {
        let (processor, watermarkMs) = (self.processor, self.watermarkMs)
        do {
            // Under the database deadline: it reads states.
            return try await processor.settings.databaseDeadline.run("reading the states of \(records.count) records") {
                try await processor.prepare(records, watermarkMs: watermarkMs)
            }
        } catch {
            try await drain(commits: &commits)
            processor.cache.removeAll()
            committed(try await processor.run(records, first: .locked, after: error).summary)
            return nil
        }
    }

    /// Waits until the batch in flight is committed (or redone, if its prepared transaction failed).
    public mutating func drain(commits: inout Commits) async throws {
        _ = try await finishInFlight(commits: &commits)
    }

    /// `false` when the batch in flight had to be redone: then the cache may hold results prepared on
    /// top of states that never committed, and is emptied.
    private mutating func finishInFlight(commits: inout Commits) async throws -> Bool {
        guard inFlight else { return true }
        inFlight = false
        guard let committedAsPrepared = try await commits.next() else { return true }
        if !committedAsPrepared { processor.cache.removeAll() }
        return committedAsPrepared
    }
}
