import Foundation
import Logging
import Persistence
import PostgresNIO
import RepairCommands
import Shared
import TestSupport
import WorkerRuntime

/// Drives the worker's processors straight against PostgreSQL, without Kafka: records in as if consumed
/// (with made-up offsets), commands in as if from the commands topic, outbox rows out.
final class DatabaseDriver: Sendable {
    let env: WorkerTestEnvironment
    let database: Database
    let settings: WorkerSettings
    let processor: BatchProcessor
    let commands: CommandProcessor
    let sweeper: Sweeper
    let offsets = OffsetCounter()
    let clock: TestClock

    init(env: WorkerTestEnvironment, database: Database, settings: WorkerSettings, clock: TestClock) {
        self.env = env
        self.database = database
        self.settings = settings
        self.clock = clock
        let now: @Sendable () -> Int64 = { clock.now }
        self.processor = BatchProcessor(client: database.client, settings: settings, logger: env.logger, clock: now)
        self.commands = CommandProcessor(client: database.client, settings: settings, logger: env.logger, clock: now)
        self.sweeper = Sweeper(
            client: database.client, settings: settings, relayWakeup: WakeupSignal(), alertWakeup: WakeupSignal(),
            logger: env.logger, clock: now)
    }

    /// Runs `body` with a migrated database and a driver over it.
    static func with<T: Sendable>(
        settleMs: Int64 = 0, commandKey: String? = "test-command-key",
        _ body: @Sendable (DatabaseDriver) async throws -> T
    ) async throws -> T {
        let env = try await WorkerTestEnvironment.make(createTopics: false)
        return try await env.withDatabase { database in
            _ = try await database.migrate()
            let driver = DatabaseDriver(
                env: env, database: database, settings: env.settings(settleMs: settleMs, commandKey: commandKey),
                clock: TestClock(now: WallClock.nowMs()))
            return try await body(driver)
        }
    }

    /// Processes messages as one consumed batch (partition 0 of each topic, consecutive offsets).
    /// With `inputsFlowing: false`, no input delivers around the batch (checks waiting on them are held).
    @discardableResult
    func consume(_ messages: [OutboundMessage], inputsFlowing: Bool = true) async throws -> BatchProcessor.Summary {
        let records = messages.map { message in
            InboundRecord(
                topic: message.topic, partition: 0, offset: offsets.next(message.topic), key: message.key,
                value: message.value)
        }
        // The driver's inputs keep flowing, around every batch: nothing it applies is held on a
        // silent input (the stall tests run real workers with silent topics).
        if inputsFlowing {
            try await deliverAllInputs(atMs: clock.now)
            try await deliverAllInputs(atMs: clock.now + 1)
        }
        return try await processor.process(records)
    }

    /// Records a delivery of every input at `atMs`.
    func deliverAllInputs(atMs: Int64) async throws {
        try await database.client.withConnection { connection in
            try await InputHealthRepository.recordDelivery(
                inputs: ["ledger", "accounts", "webhooks"], atMs: atMs, silenceMs: 1, on: connection,
                logger: env.logger)
        }
    }

    /// Settles everything pending, as if the settle time had passed while every input kept
    /// delivering (so nothing stays held on a silent input).
    func settle() async throws {
        clock.advance(by: 1)
        try await deliverAllInputs(atMs: clock.now)
        clock.advance(by: settings.checks.settleMs + 1)
        for _ in 0..<10 { guard try await sweeper.sweepOnce().due > 0 else { break } }
    }

    /// Sends one command as if read from the commands topic; returns its result.
    func command(_ command: RepairCommand) async throws -> RepairResult {
        let value = Array(try JSONEncoder().encode(command))
        return try await commandBytes(value, key: command.issueId)
    }

    func commandBytes(_ value: [UInt8], key: String) async throws -> RepairResult {
        let topic = settings.topics.commands
        let before = try await outbox(topic: settings.topics.repairs).count
        try await commands.process(
            InboundRecord(topic: topic, partition: 0, offset: offsets.next(topic), key: Array(key.utf8), value: value))
        let results = try await outbox(topic: settings.topics.repairs)
        guard results.count > before, let last = results.last else { throw WorkerProbe.Timeout(description: "no result") }
        return try JSONDecoder().decode(RepairResult.self, from: Data(last.value ?? []))
    }

    /// A command signed with the test key.
    func signed(
        issueId: String, reason: String = "Reviewed by on-call", actor: CommandActor = .init(id: "admin_7", role: "ADMIN"),
        dryRun: Bool? = nil, action: CommandAction? = nil, until: String? = nil, requestedAtMs: Int64? = nil,
        commandId: String? = nil
    ) -> RepairCommand {
        CommandSigner(key: Array("test-command-key".utf8)).sign(
            RepairCommand(
                commandId: commandId ?? "cmd_\(UUID().uuidString.prefix(8))", issueId: issueId, reason: reason,
                actor: actor, requestedAt: Timestamp.format(requestedAtMs ?? clock.now), dryRun: dryRun,
                action: action, until: until, signature: ""))
    }

    func issue(_ id: String) async throws -> IssueEvent? {
        try await database.client.withConnection { connection in
            try await IssueRepository.find(issueId: id, on: connection, logger: env.logger)
        }
    }

    func openIssues() async throws -> [IssueEvent] {
        try await database.client.withConnection { connection in
            try await IssueRepository.open(on: connection, logger: env.logger)
        }
    }

    /// Outbox messages of one topic, in order.
    func outbox(topic: String) async throws -> [OutboundMessage] {
        try await database.client.withConnection { connection in
            try await OutboxRepository.pending(limit: 100_000, on: connection, logger: env.logger)
        }.map(\.message).filter { $0.topic == topic }
    }

    func column<T: PostgresDecodable & Sendable>(_ sql: PostgresQuery, as type: T.Type) async throws -> [T] {
        var result: [T] = []
        for try await value in try await database.client.query(sql).decode(T.self) { result.append(value) }
        return result
    }

    func query<each Column: PostgresDecodable & Sendable>(_ sql: PostgresQuery, as type: (repeat each Column).Type) async throws
        -> [(repeat each Column)]
    {
        var result: [(repeat each Column)] = []
        for try await value in try await database.client.query(sql).decode(type) { result.append(value) }
        return result
    }
}

/// Next offsets per topic for made-up records.
final class OffsetCounter: Sendable {
    private let counters = Mutex<[String: Int64]>([:])
    func next(_ topic: String) -> Int64 {
        counters.withLock { counters in
            defer { counters[topic, default: 0] += 1 }
            return counters[topic, default: 0]
        }
    }
}

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let value: Mutex<Int64>
    init(now: Int64) { value = Mutex(now) }
    var now: Int64 { value.withLock { $0 } }
    func advance(by ms: Int64) { value.withLock { $0 += ms } }
}

import Synchronization
