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
/// the partition already processed), locks and loads the entity states the records touch, runs the
/// check pipeline, and writes the changed states, the issue rows and their events (outbox), dead
/// letters (outbox) and the new offsets. A crash before commit leaves nothing; a redelivery after
/// commit is dropped by the offset fence.
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
    /// Where batch time goes, when someone (the benchmark) asks.
    let phaseTimes: BatchPhaseTimes?

    public init(
        client: PostgresClient, settings: WorkerSettings, deadLetterPolicy: DeadLetterPolicy = .deadLetter,
        logger: Logger, clock: @escaping @Sendable () -> Int64 = WallClock.nowMs, phaseTimes: BatchPhaseTimes? = nil
    ) {
        self.client = client
        self.settings = settings
        self.pipeline = IssuePipeline(settings: settings.checks)
        self.decoder = RecordDecoder(topics: settings.topics)
        self.codec = EntityStateCodec(settings: settings.checks)
        self.commands = CommandProcessor(client: client, settings: settings, logger: logger, clock: clock)
        self.deadLetterPolicy = deadLetterPolicy
        self.clock = clock
        self.logger = logger
        self.phaseTimes = phaseTimes
    }

    /// Processes a batch: the data records in one transaction, then each command in its own.
    @discardableResult
    public func process(_ records: [InboundRecord]) async throws -> Summary {
        let started = ContinuousClock.now
        var summary = Summary()
        let commandTopic = settings.topics.commands
        let data = records.filter { $0.topic != commandTopic }
        if !data.isEmpty { summary = try await processData(data) }
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

    func processData(_ records: [InboundRecord]) async throws -> Summary {
        let nowMs = clock()
        var lap = PhaseLap(times: phaseTimes)
        // Decode outside the transaction: it is pure and the hot part of the CPU work.
        var decoded: [(record: InboundRecord, outcome: DecodeOutcome)] = []
        decoded.reserveCapacity(records.count)
        for record in records { decoded.append((record, decoder.decode(record))) }
        if deadLetterPolicy.stopsWorker {
            for (record, outcome) in decoded {
                if case .invalid(let reason) = outcome {
                    throw UnusableRecord(deadLetter: .make(from: record, error: reason, receivedAtMs: nowMs))
                }
            }
        }
        let partitions = Array(Set(records.map { TopicPartition(topic: $0.topic, partition: $0.partition) }))
        lap.end(.decode)
        let (summary, events) = try await client.withTransaction(logger: logger) {
            connection -> (Summary, [IssueEvent]) in
            lap.end(.begin)
            var summary = Summary()
            let stored = try await OffsetRepository.lockForBatch(
                group: settings.groupId, partitions: partitions, on: connection, logger: logger)
            lap.end(.lockOffsets)
            var keys = Set<StateKey>()
            var fresh: [(record: InboundRecord, outcome: DecodeOutcome)] = []
            fresh.reserveCapacity(decoded.count)
            for entry in decoded {
                let partition = TopicPartition(topic: entry.record.topic, partition: entry.record.partition)
                guard entry.record.offset >= stored[partition] ?? 0 else {
                    summary.fenced += 1
                    continue
                }
                if case .record(let billing) = entry.outcome {
                    keys.formUnion(IssuePipeline.stateKeys(for: billing))
                }
                fresh.append(entry)
            }
            lap.end(.collectKeys)
            let store = try await codec.lockAndLoad(keys, on: connection, logger: logger, lap: &lap)
            var watermark =
                try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger) ?? Int64.min
            lap.end(.lockStates)
            var positions: [TopicPartition: OffsetRepository.Position] = [:]
            var transitions: [IssueTransition] = []
            var outbox: [OutboundMessage] = []
            for (record, outcome) in fresh {
                let partition = TopicPartition(topic: record.topic, partition: record.partition)
                var position =
                    positions[partition]
                    ?? OffsetRepository.Position(partition: partition, nextOffset: record.offset + 1, maxEventTimeMs: nil)
                position.nextOffset = max(position.nextOffset, record.offset + 1)
                switch outcome {
                case .record(let billing):
                    if let eventTime = billing.eventTimeMs {
                        watermark = max(watermark, eventTime)
                        position.maxEventTimeMs = max(position.maxEventTimeMs ?? eventTime, eventTime)
                    }
                    let disposition = pipeline.apply(
                        billing, nowMs: nowMs, watermarkMs: watermark, store: store, into: &transitions)
                    if disposition == .applied {
                        position.applied += 1
                        summary.applied += 1
                    } else {
                        summary.ignored += 1
                    }
                case .skipped(let reason):
                    position.skipped += 1
                    summary.skipped += 1
                    metrics.skipped(reason: reason.rawValue, count: 1)
                case .invalid(let reason):
                    let letter = DeadLetter.make(from: record, error: reason, receivedAtMs: nowMs)
                    outbox.append(try letter.outboundMessage(topics: settings.topics, originalKey: record.key))
                    position.deadLetters += 1
                    summary.deadLetters += 1
                    metrics.deadLetters(topic: record.topic, count: 1)
                    logger.warning(
                        "Input record sent to the dead-letter topic",
                        metadata: [
                            "assure.kafka.topic": "\(record.topic)", "assure.kafka.partition": "\(record.partition)",
                            "assure.kafka.offset": "\(record.offset)", "assure.dlq.reason": "\(reason)",
                        ])
                }
                positions[partition] = position
            }
            lap.end(.pipeline)
            try await codec.saveChanges(of: store, on: connection, logger: logger, lap: &lap)
            lap.end(.saveStates)
            let events = try await IssueRepository.apply(
                transitions.map(IssueChange.init), on: connection, logger: logger)
            lap.end(.issues)
            outbox.append(contentsOf: try events.map { try IssueOutbox.message(for: $0, topics: settings.topics) })
            try await OutboxRepository.append(outbox, on: connection, logger: logger)
            lap.end(.outbox)
            try await OffsetRepository.store(
                group: settings.groupId, positions: Array(positions.values), on: connection, logger: logger)
            lap.end(.storeOffsets)
            summary.issueEvents = events.count
            return (summary, events)
        }
        lap.end(.commit)
        var byTopic: [String: Int] = [:]
        for record in records { byTopic[record.topic, default: 0] += 1 }
        for (topic, count) in byTopic { metrics.recordsConsumed(topic: topic, count: count) }
        metrics.issueEvents(events.map { ($0.check.rawValue, $0.status.rawValue) })
        lap.end(.metrics)
        return summary
    }
}

/// Wall time spent in each phase of processed batches, summed over batches (for the benchmark).
///
/// Phases are per batch, not per record, so timing them costs a few clock reads per batch.
public final class BatchPhaseTimes: @unchecked Sendable {
    // @unchecked: `totals` is only touched under `lock`.

    /// The steps of `BatchProcessor.processData`, in order.
    public enum Phase: String, Sendable, CaseIterable {
        /// Decoding the input messages (outside the transaction).
        case decode
        /// `BEGIN` (and taking a pooled connection).
        case begin
        /// Locking the batch's offset rows (the fence).
        case lockOffsets
        /// Dropping fenced records and collecting the state keys the batch touches.
        case collectKeys
        /// Creating, locking and reading the entity state rows, and reading the watermark (SQL).
        case lockStates
        /// Decoding the loaded entity states.
        case decodeStates
        /// Running the check pipeline over the batch.
        case pipeline
        /// Encoding the changed entity states.
        case encodeStates
        /// Writing the changed entity states (SQL).
        case saveStates
        /// Locking, merging and writing issue rows (SQL and JSON).
        case issues
        /// Encoding issue events and appending the outbox rows.
        case outbox
        /// Storing the new offsets.
        case storeOffsets
        /// `COMMIT` (the WAL flush when fsync is on).
        case commit
        /// Per-batch metrics after commit.
        case metrics
    }

    private let lock = NSLock()
    private var totals: [Phase: Duration] = [:]

    public init() {}

    public func add(_ phase: Phase, _ duration: Duration) {
        lock.lock()
        defer { lock.unlock() }
        totals[phase, default: .zero] += duration
    }

    /// The summed time of each phase so far.
    public var snapshot: [Phase: Duration] {
        lock.lock()
        defer { lock.unlock() }
        return totals
    }

    public func reset() {
        lock.lock()
        defer { lock.unlock() }
        totals = [:]
    }
}

/// Times consecutive phases of one batch: each `end` charges the time since the previous one.
struct PhaseLap {
    let times: BatchPhaseTimes?
    private var last: ContinuousClock.Instant

    init(times: BatchPhaseTimes?) {
        self.times = times
        last = .now
    }

    @inline(__always)
    mutating func end(_ phase: BatchPhaseTimes.Phase) {
        guard let times else { return }
        let now = ContinuousClock.now
        times.add(phase, now - last)
        last = now
    }
}

/// The outbox message of an issue event: keyed by issue id on the issues topic.
public enum IssueOutbox {
    public static func message(for event: IssueEvent, topics: Topics) throws -> OutboundMessage {
        OutboundMessage(
            topic: topics.issues, key: Array(event.issueId.utf8),
            value: Array(try IssueEventCoding.encoder.encode(event)))
    }
}
