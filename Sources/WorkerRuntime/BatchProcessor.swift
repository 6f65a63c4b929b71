import CheckPipeline
import Consumers
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared

/// Processes one batch of input records with exactly-once effects in PostgreSQL.
///
/// One transaction per batch: it locks the batch's offset rows (the fence: records an earlier owner of
/// the partition processed already are not applied again), writes the entity states the check
/// pipeline changed, the issue rows and their events (outbox), dead letters (outbox) and the new
/// offsets. A crash before commit leaves nothing; a redelivery after commit is dropped by the fence.
///
/// There is one way through (`run`, in `BatchFailure.swift`): a batch is prepared (decoded and run
/// through the pipeline on states from the cache or read without locks) and its transaction writes
/// the states back only where they are still at the version read. `BatchPipeline` prepares the next
/// batch while this transaction runs; alone, nothing overlaps. Whatever fails goes to one failure
/// policy (`BatchFailure`): conflicts are redone with every state locked in the transaction, transient
/// failures retried with backoff, refusals isolated to the record at fault and dead-lettered.
public struct BatchProcessor: Sendable {
    /// Counts of one processed batch, for logs, metrics and tests.
    public struct Summary: Sendable, Hashable {
        public var records = 0
        public var applied = 0
        public var ignored = 0
        public var deadLetters = 0
        public var skipped = 0
        public var fenced = 0
        public var issueEvents = 0
        public var commands = 0
        /// How often the batch was redone with locks because a concurrent writer changed a state it
        /// read (or deadlocked with it), or an earlier owner had processed some of its records.
        public var stateConflicts = 0

        public init() {}

        /// Adds the counts of another part of the same batch (or of another batch).
        public static func += (lhs: inout Self, rhs: Self) {
            lhs.records += rhs.records
            lhs.applied += rhs.applied
            lhs.ignored += rhs.ignored
            lhs.deadLetters += rhs.deadLetters
            lhs.skipped += rhs.skipped
            lhs.fenced += rhs.fenced
            lhs.issueEvents += rhs.issueEvents
            lhs.commands += rhs.commands
            lhs.stateConflicts += rhs.stateConflicts
        }
    }

    /// An input message the bad-record policy says must stop the worker.
    public struct UnusableRecord: Error, CustomStringConvertible {
        public var deadLetter: DeadLetter
        public var description: String {
            "\(deadLetter.topic)[\(deadLetter.partition)]@\(deadLetter.offset): \(deadLetter.error)"
        }
    }

    let client: PostgresClient
    let settings: WorkerSettings
    let pipeline: IssuePipeline
    let decoder: RecordDecoder
    /// How this processor reads and writes entity states (through `cache`).
    let states: EntityStateAccess
    let commands: CommandProcessor
    let deadLetterPolicy: DeadLetterPolicy
    let clock: @Sendable () -> Int64
    let logger: Logger
    let metrics = WorkerMetrics()
    /// Where this processor's consumer records deliveries and waiters.
    public let inputHealth: InputHealth
    /// States of recent batches, so the next ones need not read them.
    public let cache: EntityStateCache

    /// The processor's `cache` (of `settings.stateCacheEntries`) is shared with the sweeper and the
    /// commands of the same worker, which refresh what they rewrite.
    public init(
        client: PostgresClient, settings: WorkerSettings, deadLetterPolicy: DeadLetterPolicy = .deadLetter,
        logger: Logger, clock: @escaping @Sendable () -> Int64 = WallClock.nowMs
    ) {
        let cache = EntityStateCache(capacity: settings.stateCacheEntries)
        self.cache = cache
        self.client = client
        self.settings = settings
        self.pipeline = IssuePipeline(settings: settings.checks)
        self.decoder = RecordDecoder(topics: settings.topics, maxFutureMs: settings.maxFutureSeconds * 1000)
        self.states = EntityStateAccess(settings: settings.checks, cache: cache)
        self.commands = CommandProcessor(
            client: client, settings: settings, logger: logger, clock: clock, cache: cache)
        self.deadLetterPolicy = deadLetterPolicy
        self.clock = clock
        self.logger = logger
        self.inputHealth = InputHealth(client: client, settings: settings, logger: logger)
    }

    /// Processes a batch until it is committed, whatever PostgreSQL says (see `BatchFailure`): the
    /// data records in one transaction, then each command in its own. Only `UnusableRecord` (the
    /// bad-record policy says stop) and cancellation are thrown.
    @discardableResult
    public func process(_ records: [InboundRecord]) async throws -> Summary {
        try await run(records, first: .optimistic).summary
    }

    /// Decodes every record; throws `UnusableRecord` for an invalid one when the policy says stop.
    func decode(_ records: [InboundRecord], nowMs: Int64) throws -> [(record: InboundRecord, outcome: DecodeOutcome)] {
        var decoded: [(record: InboundRecord, outcome: DecodeOutcome)] = []
        decoded.reserveCapacity(records.count)
        for record in records { decoded.append((record, decoder.decode(record, nowMs: nowMs))) }
        if deadLetterPolicy.stopsWorker {
            for (record, outcome) in decoded {
                if case .invalid(let reason) = outcome {
                    throw UnusableRecord(deadLetter: .make(from: record, error: reason, receivedAtMs: nowMs))
                }
            }
        }
        return decoded
    }

    func recordMetrics(_ records: [InboundRecord], events: [IssueEvent]) {
        var byTopic: [String: Int] = [:]
        for record in records { byTopic[record.topic, default: 0] += 1 }
        for (topic, count) in byTopic { metrics.recordsConsumed(topic: topic, count: count) }
        metrics.issueEvents(events.map { ($0.check.rawValue, $0.status.rawValue) })
    }

    /// The usable records, in order.
    static func records(of decoded: [(record: InboundRecord, outcome: DecodeOutcome)]) -> [BillingRecord] {
        decoded.compactMap { if case .record(let billing) = $0.outcome { billing } else { nil } }
    }

    /// What applying a batch's records produced, before the issue rows are written.
    struct BatchEffects: Sendable {
        var summary = Summary()
        var positions: [TopicPartition: OffsetRepository.Position] = [:]
        var transitions: [IssueChange] = []
        /// The input record behind each transition (`cause`), index for index.
        var causes: [IssueCause] = []
        /// Dead letters (the issue events follow once the issue rows are written).
        var outbox: [OutboundMessage] = []
        /// The watermark after the batch's event times.
        var watermarkMs: Int64
        /// The inputs the applied records wait on (contract, *Input health*: the stall rules).
        var waiters: Set<InputTopic> = []
        /// The Stripe events applied (recorded for the user timeline and the audit).
        var stripeEvents: [StripeEvent] = []
    }

    /// Runs the pipeline over `fresh` (records past the offset fence) on `store`.
    func apply(
        _ fresh: [(record: InboundRecord, outcome: DecodeOutcome)], store: InMemoryStateStore, watermarkMs: Int64,
        nowMs: Int64, inputs: InputClock
    ) throws -> BatchEffects {
        var effects = BatchEffects(watermarkMs: watermarkMs)
        var pipeline = self.pipeline
        pipeline.inputs = inputs
        for (record, outcome) in fresh {
            let partition = TopicPartition(topic: record.topic, partition: record.partition)
            var position =
                effects.positions[partition]
                ?? OffsetRepository.Position(partition: partition, nextOffset: record.offset + 1, maxEventTimeMs: nil)
            position.nextOffset = max(position.nextOffset, record.offset + 1)
            switch outcome {
            case .record(let billing):
                if let eventTime = billing.eventTimeMs {
                    effects.watermarkMs = max(effects.watermarkMs, eventTime)
                    position.maxEventTimeMs = max(position.maxEventTimeMs ?? eventTime, eventTime)
                }
                let previousCredits = Self.previousCredits(billing, store: store)
                let disposition = pipeline.apply(
                    billing, nowMs: nowMs, watermarkMs: effects.watermarkMs, store: store, into: &effects.transitions)
                if disposition == .applied, inputs.isTracked {
                    Self.collectWaiters(billing, previousCredits: previousCredits, into: &effects.waiters)
                }
                if effects.causes.count < effects.transitions.count {
                    let cause = IssueCause.record(topic: record.topic, partition: record.partition, offset: record.offset)
                    effects.causes.append(
                        contentsOf: repeatElement(cause, count: effects.transitions.count - effects.causes.count))
                }
                if disposition == .applied {
                    position.applied += 1
                    effects.summary.applied += 1
                    if case .stripe(let event) = billing { effects.stripeEvents.append(event) }
                } else {
                    effects.summary.ignored += 1
                }
            case .skipped(let reason):
                position.skipped += 1
                effects.summary.skipped += 1
                metrics.skipped(reason: reason.rawValue, count: 1)
            case .invalid(let reason):
                let letter = DeadLetter.make(from: record, error: reason, receivedAtMs: nowMs)
                effects.outbox.append(letter.outboundMessage(topics: settings.topics, originalKey: record.key))
                position.deadLetters += 1
                effects.summary.deadLetters += 1
                metrics.deadLetters(topic: record.topic, count: 1)
                logger.warning(
                    "Input record sent to the dead-letter topic",
                    metadata: [
                        "assure.kafka.topic": "\(record.topic)", "assure.kafka.partition": "\(record.partition)",
                        "assure.kafka.offset": "\(record.offset)", "assure.dlq.reason": "\(reason)",
                    ])
            }
            effects.positions[partition] = position
        }
        return effects
    }

    /// Writes the issue rows, the outbox (dead letters and issue events) and the new offsets.
    func write(_ effects: BatchEffects, on connection: PostgresConnection) async throws -> [IssueEvent] {
        var lap = PhaseLap()
        let encoded = try await IssueRepository.applyEncoding(
            zip(effects.transitions, effects.causes).map { $0.caused(by: $1) }, on: connection, logger: logger)
        lap.end(.issues)
        var outbox = effects.outbox
        outbox.append(contentsOf: encoded.map { IssueOutbox.message(for: $0, topics: settings.topics) })
        try await OutboxRepository.append(outbox, on: connection, logger: logger)
        try await StripeEventRepository.insert(effects.stripeEvents, on: connection, logger: logger)
        lap.end(.outbox)
        try await OffsetRepository.store(
            group: settings.groupId, positions: Array(effects.positions.values), on: connection, logger: logger)
        lap.end(.storeOffsets)
        return encoded.map(\.event)
    }
}

extension BatchProcessor {
    /// The credits of the user's previous snapshot, for an account snapshot (the ledger stall rule).
    @inline(__always)
    static func previousCredits(_ record: BillingRecord, store: InMemoryStateStore) -> Int64? {
        guard case .account(let snapshot) = record else { return nil }
        return store.get(.user(snapshot.userId))?.userState?.account?.credits
    }

    /// What an applied record waits on: a ledger row on accounts (and on webhooks with a Stripe
    /// event id), a snapshot whose credits changed from the user's previous one on the ledger.
    static func collectWaiters(_ record: BillingRecord, previousCredits: Int64?, into waiters: inout Set<InputTopic>) {
        switch record {
        case .ledger(let row):
            waiters.insert(.accounts)
            if let event = row.stripeEventId, !event.isEmpty { waiters.insert(.webhooks) }
        case .account(let snapshot):
            if let previousCredits, previousCredits != snapshot.credits { waiters.insert(.ledger) }
        case .webhook, .planGate, .stripe:
            break
        }
    }
}

/// The outbox message of an issue event: keyed by issue id on the issues topic.
public enum IssueOutbox {
    public static func message(for event: IssueEvent, topics: Topics) -> OutboundMessage {
        message(for: EncodedIssueEvent(event), topics: topics)
    }

    public static func message(for encoded: EncodedIssueEvent, topics: Topics) -> OutboundMessage {
        OutboundMessage(topic: topics.issues, key: Array(encoded.event.issueId.utf8), value: encoded.json)
    }
}
