import CheckPipeline
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared
import Synchronization

/// `assure-worker bootstrap`: seeds the cluster's state from the billing tables (contract,
/// *Bootstrap*).
///
/// One read-only REPEATABLE READ snapshot of `stripe_webhook_events`, `users` and
/// `credit_transactions` (in `(user, seq)` order) is read through cursors, a chunk at a time, and
/// each chunk is applied in one transaction by `BatchProcessor.applySnapshot` while the next is
/// fetched. Webhook records go first and account snapshots before the ledger, so a large snapshot
/// opens no passing `webhook-missing` or balance issue while it is being read. Every row counts
/// once by its identity, so bootstrap may run while workers run, may be repeated, and a run killed
/// midway and started again ends in the state of an uninterrupted one.
public struct Bootstrap: Sendable {
    /// What one run did.
    public struct Summary: Sendable, Hashable {
        public var runId: Int64
        public var rowsRead: Int64
        public var applied: BootstrapRunRepository.Applied
        /// Rows that cannot be records (an unknown ledger type, a NULL seq): not applied.
        public var unusable: Int64
        public var seconds: Double
    }

    let processor: BatchProcessor
    let logger: Logger
    /// Rows per chunk (one transaction each).
    let chunkSize: Int
    /// Receives the progress lines (at least one a second) and the summary.
    let report: @Sendable (String) -> Void

    /// Applies through `processor`, on its database and with its settings.
    public init(
        processor: BatchProcessor, logger: Logger, chunkSize: Int = 10_000,
        report: @escaping @Sendable (String) -> Void
    ) {
        self.processor = processor
        self.logger = logger
        self.chunkSize = max(1, chunkSize)
        self.report = report
    }

    /// Counters the progress reporter reads while the run goes on.
    final class Progress: Sendable {
        struct Counts {
            var total: Int64 = 0
            var done: Int64 = 0
        }
        let counts = Mutex(Counts())
        let started = ContinuousClock.now

        var seconds: Double {
            let elapsed = started.duration(to: .now)
            return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        }
    }

    @discardableResult
    public func run() async throws -> Summary {
        let client = processor.client
        let runId = try await client.withConnection { connection in
            try await BootstrapRunRepository.start(on: connection, logger: logger)
        }
        let progress = Progress()
        let (applied, unusable) = try await withThrowingTaskGroup(of: Void.self) { reporter in
            reporter.addTask {
                while true {
                    try await Task.sleep(for: .seconds(1))
                    report(Self.progressLine(progress))
                }
            }
            defer { reporter.cancelAll() }
            return try await readSnapshot(runId: runId, progress: progress)
        }
        try await client.withConnection { connection in
            try await BootstrapRunRepository.finish(run: runId, on: connection, logger: logger)
        }
        let rows = progress.counts.withLock { $0.done }
        let summary = Summary(
            runId: runId, rowsRead: rows, applied: applied, unusable: unusable, seconds: progress.seconds)
        report(Self.summaryLine(summary))
        return summary
    }

    static func progressLine(_ progress: Progress) -> String {
        let counts = progress.counts.withLock { $0 }
        let seconds = max(0.001, progress.seconds)
        let rate = Double(counts.done) / seconds
        let percent = counts.total > 0 ? 100 * Double(counts.done) / Double(counts.total) : 0
        let left = rate > 0 ? String(Int((Double(max(0, counts.total - counts.done)) / rate).rounded(.up))) + " s" : "?"
        return "bootstrap: \(counts.done) of \(counts.total) rows (\(String(format: "%.1f", percent))%), "
            + "\(Int(rate)) rows/s, \(left) left"
    }

    static func summaryLine(_ summary: Summary) -> String {
        let rate = summary.seconds > 0 ? Int(Double(summary.rowsRead) / summary.seconds) : 0
        return "bootstrap: done: \(summary.rowsRead) rows in \(String(format: "%.1f", summary.seconds)) s "
            + "(\(rate) rows/s); applied \(summary.applied.users) account snapshots, \(summary.applied.ledger) ledger rows, "
            + "\(summary.applied.webhooks) webhook records (the rest were counted before); \(summary.unusable) unusable rows skipped"
    }

    /// Chunks applied at the same time: one goes through the pipeline while another commits, and the
    /// next is fetched meanwhile.
    static let chunksInFlight = 2

    /// Reads the snapshot and applies it chunk by chunk, up to `chunksInFlight` chunks at a time.
    ///
    /// Chunks applied at the same time never share a user: the ledger rows of the last user of a
    /// chunk wait for the next one (a user's rows commit in seq order, as a partition delivers them),
    /// and all of a user's rows are applied at one processing time, however many chunks they take.
    /// Any other key two chunks share (a Stripe customer, a webhook's payment intent) is caught by the
    /// versioned state write and that chunk redone, as with a concurrent worker. Each table is applied
    /// completely before the next one starts.
    private func readSnapshot(runId: Int64, progress: Progress) async throws
        -> (BootstrapRunRepository.Applied, Int64)
    {
        try await processor.client.withTransaction(logger: logger) { connection in
            let total = try await BillingSnapshotRepository.begin(on: connection, logger: logger)
            progress.counts.withLock { $0.total = total }
            var applied = BootstrapRunRepository.Applied()
            var unusable: Int64 = 0
            for source in SnapshotSource.allCases {
                try await BillingSnapshotRepository.open(source.table, on: connection, logger: logger)
                let done = try await withThrowingTaskGroup(of: BootstrapRunRepository.Applied.self) { group in
                    var total = BootstrapRunRepository.Applied()
                    var inFlight = 0
                    var held: [SnapshotRow] = []
                    // The user whose rows the latest submitted chunk ends with.
                    var lastUser: String?
                    // The processing time of the latest submitted chunk.
                    var nowMs: Int64 = 0
                    var exhausted = false
                    while !exhausted {
                        let chunk = try await fetch(source, on: connection)
                        exhausted = chunk.read == 0
                        let skipped = Int64(chunk.read - chunk.rows.count)
                        unusable += skipped
                        progress.counts.withLock { $0.done += skipped }
                        var rows = held + chunk.rows
                        held = []
                        if !exhausted, let last = rows.last?.ledgerUserId,
                            let cut = rows.lastIndex(where: { $0.ledgerUserId != last }).map({ $0 + 1 })
                        {
                            held = Array(rows[cut...])
                            rows.removeSubrange(cut...)
                        }
                        guard !rows.isEmpty else { continue }
                        // Rows of a user a running chunk holds (one user longer than a chunk) wait for it …
                        let continues = rows.first?.ledgerUserId.map { $0 == lastUser } == true
                        while inFlight >= (continues ? 1 : Self.chunksInFlight), let finished = try await group.next() {
                            total.add(finished)
                            inFlight -= 1
                        }
                        // … and are applied at the processing time of that user's first chunk, as one chunk
                        // would apply them: the snapshot delivers a user's rows at once, so the time
                        // between two chunks (a loaded machine) must not settle a check on half a ledger
                        // (the account's final credits against a middle row's balance).
                        if !continues { nowMs = processor.clock() }
                        lastUser = rows.last?.ledgerUserId
                        let batch = rows
                        group.addTask { [processor, nowMs] in
                            let applied = try await processor.applySnapshot(batch, run: runId, nowMs: nowMs)
                            progress.counts.withLock { $0.done += Int64(batch.count) }
                            return applied
                        }
                        inFlight += 1
                    }
                    for try await finished in group { total.add(finished) }
                    return total
                }
                applied.add(done)
                try await BillingSnapshotRepository.close(source.table, on: connection, logger: logger)
            }
            return (applied, unusable)
        }
    }

    private func fetch(_ source: SnapshotSource, on connection: PostgresConnection) async throws
        -> (rows: [SnapshotRow], read: Int)
    {
        let result = try await BillingSnapshotRepository.fetch(source.table, count: chunkSize, on: connection, logger: logger)
        return try await source.decode(result, settleMs: processor.settings.checks.settleMs)
    }
}

extension BootstrapRunRepository.Applied {
    mutating func add(_ other: Self) {
        users += other.users
        ledger += other.ledger
        webhooks += other.webhooks
    }
}
