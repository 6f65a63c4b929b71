import CheckPipeline
import Consumers
import Foundation
import Logging
import Persistence
import PostgresNIO
import RepairCommands
import Shared

/// Carries out one admin command from the commands topic in one transaction: the offset fence, the
/// repair or explanation with its audit row, the pipeline state that keeps the issue from reopening,
/// the issue's event, the processed-command record and the result on the repairs topic.
public struct CommandProcessor: Sendable {
    let client: PostgresClient
    let settings: WorkerSettings
    let executor: RepairExecutor
    let pipeline: IssuePipeline
    /// Reads the states a repair's rows touch locked, and refreshes the batch processor's cache.
    let states: EntityStateAccess
    let clock: @Sendable () -> Int64
    let logger: Logger

    public init(
        client: PostgresClient, settings: WorkerSettings, logger: Logger,
        clock: @escaping @Sendable () -> Int64 = WallClock.nowMs, cache: EntityStateCache? = nil
    ) {
        self.client = client
        self.settings = settings
        self.executor = RepairExecutor(
            verifier: CommandVerifier(commandKey: settings.commandKey, ttlSeconds: settings.commandTTLSeconds),
            logger: logger)
        self.pipeline = IssuePipeline(settings: settings.checks)
        self.states = EntityStateAccess(settings: settings.checks, cache: cache)
        self.clock = clock
        self.logger = logger
    }

    /// Processes one command record; `false` when an earlier owner of the partition already did.
    ///
    /// A command the database refuses (a constraint, a bad value, malformed billing rows: anything
    /// retrying cannot fix, `BatchFailure.refusal`) is answered `rejected` / `failed` with the reason,
    /// in a transaction of its own, and nothing of it is applied; anything else is thrown to the
    /// batch's failure policy (`BatchProcessor.run`). The failure path cannot wedge: if even
    /// remembering the `failed` answer is refused, the answer goes out unremembered, and if that is
    /// refused too, the offset moves past the command alone.
    @discardableResult
    public func process(_ record: InboundRecord) async throws -> Bool {
        do {
            return try await process(record, failure: nil)
        } catch let error where BatchFailure(error) == .refusal {
            let detail = DatabaseError.describe(error)
            logger.error("Repair command failed in the database", metadata: ["assure.error": "\(String(reflecting: error))"])
            do {
                return try await process(record, failure: detail)
            } catch let second where BatchFailure(second) == .refusal {
                logger.error(
                    "Recording the failed command was refused too; answering without remembering it",
                    metadata: ["assure.error": "\(DatabaseError.describe(second))"])
                do {
                    return try await process(record, failure: detail, remember: false)
                } catch let third where BatchFailure(third) == .refusal {
                    logger.critical(
                        "Answering the failed command was refused; moving past it without an answer",
                        metadata: ["assure.error": "\(DatabaseError.describe(third))"])
                    return try await skip(record)
                }
            }
        }
    }

    /// Stores the offset past `record` and nothing else.
    func skip(_ record: InboundRecord) async throws -> Bool {
        let partition = TopicPartition(topic: record.topic, partition: record.partition)
        return try await client.withTransaction(logger: logger) { connection -> Bool in
            let stored = try await OffsetRepository.lockForBatch(
                group: settings.groupId, partitions: [partition], on: connection, logger: logger)
            guard record.offset >= stored[partition] ?? 0 else { return false }
            try await OffsetRepository.store(
                group: settings.groupId,
                positions: [.init(partition: partition, nextOffset: record.offset + 1, maxEventTimeMs: nil, skipped: 1)],
                on: connection, logger: logger)
            return true
        }
    }

    func process(_ record: InboundRecord, failure: String?, remember: Bool = true) async throws -> Bool {
        let nowMs = clock()
        let partition = TopicPartition(topic: record.topic, partition: record.partition)
        let (processed, written) = try await client.withTransaction(logger: logger) {
            connection -> (Bool, EntityStateWrite?) in
            let stored = try await OffsetRepository.lockForBatch(
                group: settings.groupId, partitions: [partition], on: connection, logger: logger)
            guard record.offset >= stored[partition] ?? 0 else { return (false, nil) }
            let result =
                if let failure {
                    try await failed(record, detail: failure, remember: remember, nowMs: nowMs, on: connection)
                } else {
                    try await handle(record, nowMs: nowMs, on: connection)
                }
            var outbox = [
                OutboundMessage(
                    // Without a usable commandId the result is keyed by the command record's own key.
                    topic: settings.topics.repairs,
                    key: result.result.commandId.isEmpty ? record.key : Array(result.result.commandId.utf8),
                    value: Array(try IssueEventCoding.encoder.encode(result.result)))
            ]
            outbox.append(contentsOf: try result.events.map { try IssueOutbox.message(for: $0, topics: settings.topics) })
            try await OutboxRepository.append(outbox, on: connection, logger: logger)
            try await OffsetRepository.store(
                group: settings.groupId,
                positions: [.init(partition: partition, nextOffset: record.offset + 1, maxEventTimeMs: nil, applied: 1)],
                on: connection, logger: logger)
            if let written = result.written {
                try await states.count(written, shard: EntityStateAccess.sharedCountShard, on: connection, logger: logger)
            }
            logger.notice(
                "Repair command processed",
                metadata: [
                    "assure.command.id": "\(result.result.commandId)", "assure.issue.id": "\(result.result.issueId)",
                    "assure.command.outcome": "\(result.result.outcome.rawValue)",
                    "assure.command.rejection": "\(result.result.rejection?.rawValue ?? "-")",
                ])
            return (true, result.written)
        }
        // Only once committed: a state version that never committed must not be cached.
        if let written { states.committed(written) }
        return processed
    }

    struct Handled {
        var result: RepairResult
        var events: [IssueEvent]
        /// The entity states the repair's rows changed, for the cache once committed.
        var written: EntityStateWrite? = nil
    }

    /// The `failed` answer to a command whose transaction the database refused; remembered like any result.
    func failed(
        _ record: InboundRecord, detail: String, remember: Bool, nowMs: Int64, on connection: PostgresConnection
    ) async throws -> Handled {
        let command = try? CommandDecoder.decode(record.value ?? []).get()
        let result = RepairResult(
            commandId: command?.commandId ?? "", issueId: command?.issueId ?? "", outcome: .rejected,
            action: nil, rejection: .failed, detail: String(detail.prefix(2000)), processedAt: Timestamp.format(nowMs))
        if let command, remember {
            try await ProcessedCommandRepository.record(
                result, actor: command.actor.id, reason: command.reason, on: connection, logger: logger)
        }
        return Handled(result: result, events: [])
    }

    func handle(_ record: InboundRecord, nowMs: Int64, on connection: PostgresConnection) async throws -> Handled {
        let command: RepairCommand
        switch CommandDecoder.decode(record.value ?? []) {
        case .success(let decoded):
            command = decoded
        case .failure(let error):
            // An unreadable command is answered (so its sender hears why) but not remembered: it has no trustworthy id.
            let result = RepairResult(
                commandId: error.commandId ?? "", issueId: error.issueId ?? "", outcome: .rejected,
                action: nil, rejection: .invalid, detail: error.reason, processedAt: Timestamp.format(nowMs))
            return Handled(result: result, events: [])
        }
        let output = try await executor.execute(command, nowMs: nowMs, on: connection)
        // The executor's changes name the stored issue's own check (an unknown id was answered `not_found`).
        var changes: [IssueChange] = []
        var written: EntityStateWrite?
        if !output.records.isEmpty {
            // The repair's own rows, applied now so the pipeline agrees with the billing tables at once.
            let read = try await states.read(touchedBy: output.records, .locked, on: connection, logger: logger)
            let store = read.store
            let watermark = try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger) ?? Int64.min
            var steps: [IssueChange] = []
            for billing in output.records {
                pipeline.apply(billing, nowMs: nowMs, watermarkMs: watermark, store: store, into: &steps)
            }
            let write = states.encode(read)
            try await states.write(write, on: connection, logger: logger)
            written = write
            // The repaired issue's own steps on the way (an updated evidence, the self-healed resolve)
            // give way to its one `repaired` resolution; other issues the rows touch change as usual.
            let repairedIds = Set(output.issueChanges.map(\.issueId))
            let cause = IssueCause.command(commandId: command.commandId)
            changes = steps.filter { !repairedIds.contains($0.issueId) }.map { $0.caused(by: cause) }
        }
        changes.append(contentsOf: output.issueChanges)
        let events = try await IssueRepository.apply(changes, on: connection, logger: logger)
        if output.remember {
            try await ProcessedCommandRepository.record(
                output.result, actor: command.actor.id, reason: command.reason, on: connection, logger: logger)
        }
        return Handled(result: output.result, events: events, written: written)
    }
}
