import Logging
import Persistence
import PostgresNIO
import Shared

/// What a failed attempt at a batch means, and so what happens next: the one place that decides.
/// `BatchProcessor.run` acts on it for every batch (from the consumer, `BatchPipeline` and the tests
/// alike), `retrying` for the small database steps around batches (the stored offsets of an
/// assignment, the offset past a refused record), and a bootstrap chunk takes its conflict arm.
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

    /// Logs that `work` failed with `error` and waits before retry number `retry` (from 1): 200 ms,
    /// doubling, at most 5 s.
    static func backOff(_ retry: Int, _ work: String, after error: any Error, logger: Logger) async throws {
        logger.error(
            "\(work) failed; retrying",
            metadata: ["assure.error": "\(DatabaseError.describe(error))", "assure.attempt": "\(retry)"])
        try await Task.sleep(for: .milliseconds(min(5000, 100 << min(max(retry, 1), 6))))
    }

    /// Runs `work`, a database step that reads or writes no entity state, until it succeeds:
    /// conflicts (a deadlock) and transient failures are waited out, forever, like a batch's after
    /// its locked redos; anything else, and cancellation, is thrown.
    static func retrying<T: Sendable>(
        _ what: String, logger: Logger, _ work: @Sendable () async throws -> T
    ) async throws -> T {
        var retries = 0
        while true {
            do {
                return try await work()
            } catch where [.conflict, .transient].contains(BatchFailure(error)) {
                retries += 1
                try await backOff(retries, what, after: error, logger: logger)
            }
        }
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
        var (attempt, pending, conflicts, retries) = (first, failure, 0, 0)
        while true {
            if let error = pending {
                attempt = .locked
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
                    try await BatchFailure.backOff(retries, "Batch", after: error, logger: logger)
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
            let (processor, current) = (self, attempt)
            let prepared = if case .prepared = current { true } else { false }
            do {
                var summary = try await settings.databaseDeadline.run("a batch of \(records.count) records") {
                    try await processor.attempt(records, current)
                }
                summary.stateConflicts += conflicts
                return Outcome(summary: summary, committedAsPrepared: prepared)
            } catch {
                // A prepared batch's states went into the cache before its commit; they never committed.
                if prepared { cache.removeAll() }
                pending = error
            }
        }
    }
}
