import CheckPipeline
import Consumers
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared

/// Processes one batch of input records with exactly-once effects in PostgreSQL.
///
/// One transaction per batch: it locks the batch's offset rows (dropping records an earlier owner of
/// the partition already processed), takes the entity states the records touch from the cache or
/// reads them, runs the check pipeline, and writes the changed states, the issue rows and their
/// events (outbox), dead letters (outbox) and the new offsets. A crash before commit leaves nothing;
/// a redelivery after commit is dropped by the offset fence.
///
/// States are not locked while the batch runs: each is written back only if its row is still at the
/// version read (optimistic concurrency). When another writer got there first, the transaction rolls
/// back and the batch is redone with every state row locked, as the sweeper and repairs work.
/// `BatchPipeline` splits the same work into `prepare` and `commit(_:)` to overlap batches.
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
        /// read (or deadlocked with it).
        public var stateConflicts = 0

        public init() {}
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
    let codec: EntityStateCodec
    let commands: CommandProcessor
    let deadLetterPolicy: DeadLetterPolicy
    let clock: @Sendable () -> Int64
    let logger: Logger
    let metrics = WorkerMetrics()
    /// Where this processor's consumer records deliveries and waiters.
    public let inputHealth: InputHealth
    /// Where batch time goes, when someone (the benchmark) asks.
    let phaseTimes: BatchPhaseTimes?
    /// States of recent batches, so the next ones need not read them.
    public let cache: EntityStateCache

    /// `cache` is shared with the sweeper of the same worker, so that it can drop what it rewrites;
    /// without one the processor makes its own of `settings.stateCacheEntries`.
    public init(
        client: PostgresClient, settings: WorkerSettings, deadLetterPolicy: DeadLetterPolicy = .deadLetter,
        logger: Logger, clock: @escaping @Sendable () -> Int64 = WallClock.nowMs, phaseTimes: BatchPhaseTimes? = nil,
        cache: EntityStateCache? = nil
    ) {
        let cache = cache ?? EntityStateCache(capacity: settings.stateCacheEntries)
        self.cache = cache
        self.client = client
        self.settings = settings
        self.pipeline = IssuePipeline(settings: settings.checks)
        self.decoder = RecordDecoder(topics: settings.topics, maxFutureMs: settings.maxFutureSeconds * 1000)
        self.codec = EntityStateCodec(settings: settings.checks)
        self.commands = CommandProcessor(
            client: client, settings: settings, logger: logger, clock: clock, cache: cache)
        self.deadLetterPolicy = deadLetterPolicy
        self.clock = clock
        self.logger = logger
        self.phaseTimes = phaseTimes
        self.inputHealth = InputHealth(client: client, settings: settings, logger: logger)
    }

    /// Processes a batch: the data records in one transaction, then each command in its own.
    ///
    /// `bypassingCache` locks and reads every state from the database and leaves the cache alone
    /// (for redoing a prepared batch while the cache may hold the failed batch's results).
    @discardableResult
    public func process(_ records: [InboundRecord], bypassingCache: Bool = false) async throws -> Summary {
        let started = ContinuousClock.now
        var summary = Summary()
        let commandTopic = settings.topics.commands
        let data = records.filter { $0.topic != commandTopic }
        if !data.isEmpty { summary = try await processData(data, bypassingCache: bypassingCache) }
        for command in records where command.topic == commandTopic {
            if try await commands.process(command) { summary.commands += 1 }
        }
        summary.records = records.count
        let elapsed = ContinuousClock.now - started
        metrics.batch(
            size: records.count,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return summary
    }

    func processData(_ records: [InboundRecord], bypassingCache: Bool = false) async throws -> Summary {
        let nowMs = clock()
        var lap = PhaseLap(times: phaseTimes)
        // Decode outside the transaction: it is pure and the hot part of the CPU work.
        let decoded = try decode(records, nowMs: nowMs)
        let partitions = Array(Set(records.map { TopicPartition(topic: $0.topic, partition: $0.partition) }))
        lap.end(.decode)
        var outcome: CommittedBatch
        var conflicts = 0
        while true {
            do {
                outcome = try await commit(
                    decoded, partitions: partitions, nowMs: nowMs, locked: bypassingCache || conflicts > 0, lap: &lap)
                break
            } catch where EntityStateRepository.isConcurrencyConflict(error) && conflicts < Self.conflictRetries {
                // Another writer changed a state this batch read from the cache or without a lock (or
                // the two deadlocked): redo the batch with every state locked.
                conflicts += 1
                metrics.stateConflict()
                logger.debug(
                    "Entity state changed concurrently; redoing the batch with locks",
                    metadata: ["assure.error": "\(error)", "assure.attempt": "\(conflicts)"])
            }
        }
        outcome.summary.stateConflicts = conflicts
        if !bypassingCache { cache.store(outcome.states) }
        await inputHealth.recordWaiters(outcome.waiters, sinceMs: nowMs)
        recordMetrics(records, events: outcome.events)
        lap.end(.metrics)
        return outcome.summary
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

    /// How often a batch is redone at once after a concurrency conflict before the error is thrown
    /// (a locked redo can still lose a deadlock, but not forever).
    static let conflictRetries = 5

    /// What one batch transaction committed.
    struct CommittedBatch {
        var summary: Summary
        var events: [IssueEvent]
        /// Every state the batch touched, as committed (for the cache).
        var states: [(key: StateKey, entry: EntityStateCache.Entry)]
        /// The inputs the batch's applied records wait on.
        var waiters: Set<InputTopic>
    }

    /// Runs the batch in one transaction. Unless `locked`, states come from the cache or unlocked
    /// reads and are written only if still at the version read (`VersionConflict` otherwise).
    func commit(
        _ decoded: [(record: InboundRecord, outcome: DecodeOutcome)], partitions: [TopicPartition], nowMs: Int64,
        locked: Bool, lap: inout PhaseLap
    ) async throws -> CommittedBatch {
        var lap2 = lap
        defer { lap = lap2 }
        let result = try await client.withTransaction(logger: logger) { connection -> CommittedBatch in
            try await EntityStateRepository.preferIndexLookups(on: connection, logger: logger)
            lap2.end(.begin)
            let stored = try await OffsetRepository.lockForBatch(
                group: settings.groupId, partitions: partitions, on: connection, logger: logger)
            lap2.end(.lockOffsets)
            var fenced = 0
            let fresh = decoded.filter { entry in
                let partition = TopicPartition(topic: entry.record.topic, partition: entry.record.partition)
                guard entry.record.offset >= stored[partition] ?? 0 else {
                    fenced += 1
                    return false
                }
                return true
            }
            let keys = Self.stateKeys(of: fresh)
            lap2.end(.collectKeys)
            var states =
                locked
                ? try await codec.lockAndLoadVersioned(keys, on: connection, logger: logger, lap: &lap2)
                : try await codec.loadUnlocked(keys, cache: cache, on: connection, logger: logger, lap: &lap2)
            // Keys only the states name (the users of a Stripe customer, …), read the same way.
            let dependent = IssuePipeline.dependentKeys(for: Self.records(of: fresh), store: states.store)
            if !dependent.isEmpty {
                states = states.adding(
                    locked
                        ? try await codec.lockAndLoadVersioned(dependent, on: connection, logger: logger, lap: &lap2)
                        : try await codec.loadUnlocked(dependent, cache: cache, on: connection, logger: logger, lap: &lap2))
            }
            let watermark =
                try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger) ?? Int64.min
            let inputs = try await InputHealth.clock(on: connection, logger: logger)
            lap2.end(.lockStates)
            var effects = try apply(fresh, store: states.store, watermarkMs: watermark, nowMs: nowMs, inputs: inputs)
            effects.summary.fenced = fenced
            lap2.end(.pipeline)
            let committedStates =
                locked
                ? try await codec.saveLocked(states, on: connection, logger: logger, lap: &lap2)
                : try await codec.writeIfUnchanged(states, on: connection, logger: logger, lap: &lap2)
            lap2.end(.saveStates)
            let events = try await write(effects, on: connection, lap: &lap2)
            effects.summary.issueEvents = events.count
            return CommittedBatch(
                summary: effects.summary, events: events, states: committedStates, waiters: effects.waiters)
        }
        lap2.end(.commit)
        return result
    }

    /// The usable records, in order.
    static func records(of decoded: [(record: InboundRecord, outcome: DecodeOutcome)]) -> [BillingRecord] {
        decoded.compactMap { if case .record(let billing) = $0.outcome { billing } else { nil } }
    }

    /// The state keys the usable records name (`IssuePipeline.dependentKeys` adds the ones their states name).
    static func stateKeys(of decoded: [(record: InboundRecord, outcome: DecodeOutcome)]) -> Set<StateKey> {
        var keys = Set<StateKey>(minimumCapacity: decoded.count)
        for entry in decoded {
            if case .record(let billing) = entry.outcome { keys.formUnion(IssuePipeline.stateKeys(for: billing)) }
        }
        return keys
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
                effects.outbox.append(try letter.outboundMessage(topics: settings.topics, originalKey: record.key))
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
    func write(_ effects: BatchEffects, on connection: PostgresConnection, lap: inout PhaseLap) async throws
        -> [IssueEvent]
    {
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
    public static func message(for event: IssueEvent, topics: Topics) throws -> OutboundMessage {
        message(for: EncodedIssueEvent(event: event, json: Array(try IssueEventCoding.encoder.encode(event))), topics: topics)
    }

    public static func message(for encoded: EncodedIssueEvent, topics: Topics) -> OutboundMessage {
        OutboundMessage(topic: topics.issues, key: Array(encoded.event.issueId.utf8), value: encoded.json)
    }
}
