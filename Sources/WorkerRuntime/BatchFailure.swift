import Logging
import Persistence
import PostgresNIO
import Shared

/// What a failed attempt at a batch means, and so what happens next: the one place that decides
/// (`BatchProcessor.run` acts on it, for batches from the consumer, `BatchPipeline` and the tests alike).
enum BatchFailure: Equatable {
    /// The bad-record policy says stop (`UnusableRecord`), or the task is cancelled: thrown.
    case stop
    /// Another writer changed a state the attempt read (or deadlocked with it), or an earlier owner
    /// of the partition processed some of its records: redone at once with every state locked, a few
    /// times, then with backoff like a transient failure.
    case conflict
    /// The database is away for a while (connection lost, restarting, past its deadline): retried
    /// with backoff, with every state locked, for as long as it takes. Never dead-lettered.
    case transient
    /// PostgreSQL refuses the batch for a reason retrying cannot fix: split until the record at fault
    /// is found, which is dead-lettered with the database's reason while the rest commits.
    case refusal

    /// How often a batch is redone at once after a conflict before it waits between attempts (a
    /// locked redo can still lose a deadlock, but not forever).
    static let conflictRedos = 5

    init(_ error: any Error) {
        if error is BatchProcessor.UnusableRecord || Task.isCancelled {
            self = .stop
        } else if EntityStateRepository.isConcurrencyConflict(error) || Self.isFenced(error) {
            self = .conflict
        } else if DatabaseError.isTransient(error) {
            self = .transient
        } else {
            self = .refusal
        }
    }

    private static func isFenced(_ error: any Error) -> Bool {
        let cause = (error as? PostgresTransactionError)?.closureError ?? error
        return cause is BatchProcessor.PreparedBatchFenced
    }
}

extension BatchProcessor {
    /// How a batch ended up committed.
    struct Outcome: Sendable {
        var summary: Summary
        /// `false` when the prepared attempt failed and the batch was redone (or isolated): then
        /// whatever was prepared on top of its states is stale.
        var committedAsPrepared: Bool
    }

    /// Processes `records` until committed, starting with `first` (or, given `failure`, with what a
    /// failed preparation of them calls for): every attempt runs under the database deadline and
    /// every failure goes through `BatchFailure`. Throws only what `BatchFailure.stop` names.
    func run(_ records: [InboundRecord], first: Attempt, after failure: (any Error)? = nil) async throws -> Outcome {
        var next = first
        var pending = failure
        var conflicts = 0
        var retries = 0
        while true {
            if let error = pending {
                pending = nil
                next = .locked
                switch BatchFailure(error) {
                case .stop:
                    throw error
                case .conflict where conflicts < BatchFailure.conflictRedos:
                    conflicts += 1
                    metrics.stateConflict()
                    logger.debug(
                        "Entity state changed concurrently (or records were processed already); redoing the batch locked",
                        metadata: ["assure.error": "\(error)", "assure.attempt": "\(conflicts)"])
                case .conflict, .transient:
                    retries += 1
                    logger.error(
                        "Batch failed; retrying",
                        metadata: ["assure.error": "\(String(reflecting: error))", "assure.attempt": "\(retries)"])
                    try await Task.sleep(for: TransientRetry.backoff(retries))
                case .refusal:
                    metrics.failedBatch()
                    logger.error(
                        "Batch refused by the database; splitting it to find the record at fault",
                        metadata: [
                            "assure.error": "\(DatabaseError.describe(error))", "assure.batch.records": "\(records.count)",
                        ])
                    cache.removeAll()
                    var summary = try await isolate(records, refusal: error)
                    summary.stateConflicts += conflicts
                    return Outcome(summary: summary, committedAsPrepared: false)
                }
            }
            let attempt = next
            do {
                let processor = self
                var summary = try await settings.databaseDeadline.run("a batch of \(records.count) records") {
                    try await processor.attempt(records, attempt)
                }
                summary.stateConflicts += conflicts
                if case .prepared = attempt { return Outcome(summary: summary, committedAsPrepared: true) }
                return Outcome(summary: summary, committedAsPrepared: false)
            } catch {
                // A prepared batch's states went into the cache before its commit; they never committed.
                if case .prepared = attempt { cache.removeAll() }
                pending = error
            }
        }
    }
}
