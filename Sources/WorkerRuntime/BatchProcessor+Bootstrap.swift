import CheckPipeline
import Logging
import Persistence
import PostgresNIO
import Shared

/// One row of the billing tables' snapshot, as bootstrap applies it.
public struct SnapshotRow: Sendable {
    /// The billing table a row comes from (the `cause` of the issue events it produces).
    public enum Table: String, Sendable, CaseIterable {
        case users
        case creditTransactions = "credit_transactions"
        case stripeWebhookEvents = "stripe_webhook_events"
    }

    public var record: BillingRecord
    public var table: Table
    /// `false` for a grant older than the user's `users.updated_at` minus the settle time.
    public var judgeGrantTier: Bool

    /// The user of a ledger row (nil for the other tables).
    var ledgerUserId: String? {
        if case .ledger(let row) = record { row.userId } else { nil }
    }

    public init(record: BillingRecord, table: Table, judgeGrantTier: Bool = true) {
        self.record = record
        self.table = table
        self.judgeGrantTier = judgeGrantTier
    }
}

extension BatchProcessor {
    /// The pseudo-partition under which bootstrap keeps the event-time watermark of its rows.
    static let bootstrapPosition = TopicPartition(topic: "bootstrap", partition: 0)

    /// Applies snapshot rows as consumed records are applied, in one transaction: the same pipeline,
    /// state writes, issue rows and events, plus the run's counts. Rows count once by their
    /// identity, so applying them again changes nothing. Nothing is held: the snapshot delivers
    /// every input at once. `nowMs` is the processing time (settle deadlines, issue times): the caller
    /// keeps it for the chunks of one user. Returns the rows applied (not counted before), per table.
    ///
    /// Of `BatchFailure`'s arms a chunk takes only the conflict (a worker, or the other chunk in
    /// flight, changed a state it read: redone locked, as a batch is), not `run`: it has no offsets,
    /// so a refused row has no dead-letter route and no position to move past, and a database away
    /// for a while also takes the snapshot transaction the chunks come from. Any other failure ends
    /// the run (`bootstrap` exits 1), and running it again is safe.
    public func applySnapshot(
        _ rows: [SnapshotRow], run: Int64, nowMs: Int64
    ) async throws -> BootstrapRunRepository.Applied {
        var conflicts = 0
        while true {
            do {
                let access: EntityStates.Access = conflicts > 0 ? .locked : .optimistic
                let (applied, written) = try await commitSnapshot(rows, run: run, nowMs: nowMs, access: access)
                states.committed(written)
                return applied
            } catch where BatchFailure(error) == .conflict && conflicts < BatchFailure.conflictRedos {
                conflicts += 1
                metrics.stateConflict()
            }
        }
    }

    private func commitSnapshot(
        _ rows: [SnapshotRow], run: Int64, nowMs: Int64, access: EntityStates.Access
    ) async throws -> (BootstrapRunRepository.Applied, EntityStateWrite) {
        try await client.withTransaction(logger: logger) { connection in
            try await EntityStateRepository.preferIndexLookups(on: connection, logger: logger)
            // The keys the rows name and the ones their states name (the Stripe customer of an account, …).
            let states = try await self.states.read(touchedBy: rows.map(\.record), access, on: connection, logger: logger)
            let watermark = try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger)
            var effects = BatchEffects(watermarkMs: watermark ?? Int64.min)
            var maxEventTime: Int64?
            var pipeline = self.pipeline
            pipeline.inputs = .untracked
            var applied = BootstrapRunRepository.Applied()
            for row in rows {
                if let eventTime = row.record.eventTimeMs {
                    effects.watermarkMs = max(effects.watermarkMs, eventTime)
                    maxEventTime = max(maxEventTime ?? eventTime, eventTime)
                }
                let disposition = pipeline.apply(
                    row.record, nowMs: nowMs, watermarkMs: effects.watermarkMs, store: states.store,
                    into: &effects.transitions, judgeGrantTier: row.judgeGrantTier)
                // The events a row causes carry `{"bootstrap": "<table>"}`.
                effects.causes.append(
                    contentsOf: repeatElement(
                        .bootstrap(table: row.table.rawValue), count: effects.transitions.count - effects.causes.count))
                guard disposition == .applied else { continue }
                switch row.table {
                case .users: applied.users += 1
                case .creditTransactions: applied.ledger += 1
                case .stripeWebhookEvents: applied.webhooks += 1
                }
            }
            let written = self.states.encode(states)
            try await self.states.write(written, on: connection, logger: logger)
            // The rows' event times move the cluster's watermark, as consumed records' do.
            effects.positions[Self.bootstrapPosition] = .init(
                partition: Self.bootstrapPosition, nextOffset: 0, maxEventTimeMs: maxEventTime)
            _ = try await write(effects, on: connection)
            try await BootstrapRunRepository.add(
                applied, rowsRead: Int64(rows.count), run: run, on: connection, logger: logger)
            try await self.states.count(
                written, shard: EntityStateAccess.sharedCountShard, on: connection, logger: logger)
            return (applied, written)
        }
    }
}
