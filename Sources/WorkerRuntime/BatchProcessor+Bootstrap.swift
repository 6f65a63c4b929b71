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
    /// every input at once. Returns the rows applied (not counted before), per table.
    public func applySnapshot(_ rows: [SnapshotRow], run: Int64) async throws -> BootstrapRunRepository.Applied {
        let nowMs = clock()
        let records = rows.map(\.record)
        var conflicts = 0
        while true {
            do {
                let (applied, written) = try await commitSnapshot(
                    rows, records: records, run: run, nowMs: nowMs, access: conflicts > 0 ? .locked : .optimistic)
                states.committed(written)
                return applied
            } catch where BatchFailure(error) == .conflict && conflicts < BatchFailure.conflictRedos {
                // A worker changed a state this chunk read: redo it with every state locked.
                conflicts += 1
                metrics.stateConflict()
            }
        }
    }

    private func commitSnapshot(
        _ rows: [SnapshotRow], records: [BillingRecord], run: Int64, nowMs: Int64, access: EntityStates.Access
    ) async throws -> (BootstrapRunRepository.Applied, EntityStateWrite) {
        try await client.withTransaction(logger: logger) { connection in
            try await EntityStateRepository.preferIndexLookups(on: connection, logger: logger)
            // The keys the rows name and the ones their states name (the Stripe customer of an account, …).
            let states = try await self.states.read(touchedBy: records, access, on: connection, logger: logger)
            var watermark =
                try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger) ?? Int64.min
            var maxEventTime: Int64?
            var pipeline = self.pipeline
            pipeline.inputs = .untracked
            var transitions: [IssueChange] = []
            var causes: [IssueCause] = []
            var applied = BootstrapRunRepository.Applied()
            for row in rows {
                if let eventTime = row.record.eventTimeMs {
                    watermark = max(watermark, eventTime)
                    maxEventTime = max(maxEventTime ?? eventTime, eventTime)
                }
                let disposition = pipeline.apply(
                    row.record, nowMs: nowMs, watermarkMs: watermark, store: states.store, into: &transitions,
                    judgeGrantTier: row.judgeGrantTier)
                // The events a row causes carry `{"bootstrap": "<table>"}`.
                causes.append(
                    contentsOf: repeatElement(.bootstrap(table: row.table.rawValue), count: transitions.count - causes.count))
                guard disposition == .applied else { continue }
                switch row.table {
                case .users: applied.users += 1
                case .creditTransactions: applied.ledger += 1
                case .stripeWebhookEvents: applied.webhooks += 1
                }
            }
            let written = self.states.encode(states)
            try await self.states.write(written, on: connection, logger: logger)
            let events = try await IssueRepository.applyEncoding(
                zip(transitions, causes).map { $0.caused(by: $1) }, on: connection, logger: logger)
            try await OutboxRepository.append(
                events.map { IssueOutbox.message(for: $0, topics: settings.topics) }, on: connection, logger: logger)
            // The rows' event times move the cluster's watermark, as consumed records' do.
            try await OffsetRepository.store(
                group: settings.groupId,
                positions: [.init(partition: Self.bootstrapPosition, nextOffset: 0, maxEventTimeMs: maxEventTime)],
                on: connection, logger: logger)
            try await BootstrapRunRepository.add(
                applied, rowsRead: Int64(rows.count), run: run, on: connection, logger: logger)
            try await self.states.count(
                written, shard: EntityStateAccess.sharedCountShard, on: connection, logger: logger)
            return (applied, written)
        }
    }
}
