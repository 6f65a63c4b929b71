import Consumers
import Foundation
import Logging
import Persistence
import Shared
import TestSupport
import WorkerRuntime

/// One mock Kafka cluster per test process (or the Tansu broker of the real-broker suite), a fresh
/// database and a fresh topic prefix per test.
struct WorkerTestEnvironment: Sendable {
    let cluster: any TestKafkaBroker
    let database: DatabaseConfiguration
    let topics: Topics
    let groupId: String
    let logger: Logger

    static let sharedCluster: MockKafkaCluster = {
        // The mock cluster lives for the whole test process; librdkafka tears it down at exit.
        try! MockKafkaCluster(brokers: 3, logger: Logger(label: "assure.test.mock"))
    }()

    /// A fresh database and topic prefix on `broker` (the shared mock cluster when nil).
    static func make(
        partitions: Int = 4, createTopics: Bool = true, broker: (any TestKafkaBroker)? = nil
    ) async throws -> WorkerTestEnvironment {
        let cluster = broker ?? sharedCluster
        var logger = Logger(label: "assure.test")
        logger.logLevel = ProcessInfo.processInfo.environment["ASSURE_TEST_LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .warning
        let server = try await PostgresTestServer.shared()
        let database = try await server.createDatabase(prefix: "worker")
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let topics = Topics(prefix: "t\(suffix).billing.")
        if createTopics { for topic in topics.all { try await cluster.createTestTopic(topic, partitions: partitions) } }
        return WorkerTestEnvironment(
            cluster: cluster, database: database, topics: topics, groupId: "workers-\(suffix)", logger: logger)
    }

    func settings(settleMs: Int64 = 300, commandKey: String? = "test-command-key", stallMs: Int64 = 300_000)
        -> WorkerSettings
    {
        var settings = WorkerSettings(
            groupId: groupId, topics: topics, checks: CheckSettings(settleMs: settleMs), alertDedupSeconds: 3600,
            alertGroupWaitMs: 200, commandKey: commandKey.map { Array($0.utf8) })
        settings.sweepIntervalMs = 100
        settings.stallMs = stallMs
        return settings
    }

    var kafka: KafkaConfiguration {
        KafkaConfiguration(
            bootstrapServers: [cluster.bootstrapServers], clientID: "assure-test-worker", groupID: groupId,
            sessionTimeoutMs: 4000, heartbeatIntervalMs: 500, maxBatchWaitMs: 20, reconnectBackoffMaxMs: 500)
    }

    func nodeConfiguration(settleMs: Int64 = 300, stallMs: Int64 = 300_000) -> WorkerNode.Configuration {
        WorkerNode.Configuration(database: database, kafka: kafka, settings: settings(settleMs: settleMs, stallMs: stallMs))
    }

    func publish(_ messages: [OutboundMessage], properties: [String: String] = [:]) async throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(
                bootstrapServers: [cluster.bootstrapServers], clientID: "assure-test-traffic", properties: properties),
            logger: logger)
        for result in await producer.send(messages) { _ = try result.get() }
        await producer.shutdown()
    }

    func collector() throws -> TopicCollector {
        try TopicCollector(
            topics: [topics.issues, topics.alerts, topics.repairs, topics.deadLetters],
            bootstrapServers: cluster.bootstrapServers, logger: logger)
    }

    /// Runs `body` with a collector consuming the output topics in a child task.
    ///
    /// With `heartbeat` (the default), the three inputs keep delivering while `body` runs, as a live
    /// system's do: a tombstone (counted and skipped) on each every 200 ms. Without it, a check
    /// waiting on an input that went quiet is held (contract, *Input health*).
    func withCollector<T: Sendable>(
        heartbeat: Bool = true, _ body: @Sendable (TopicCollector) async throws -> T
    ) async throws -> T {
        try await withCollector(heartbeatTopics: heartbeat ? [topics.ledger, topics.accounts, topics.webhooks] : [], body)
    }

    /// `withCollector` with heartbeats on `heartbeatTopics` only (the others may go silent).
    func withCollector<T: Sendable>(
        heartbeatTopics: [String], _ body: @Sendable (TopicCollector) async throws -> T
    ) async throws -> T {
        let collector = try collector()
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await collector.run() }
            do {
                let result = try await withThrowingTaskGroup(of: Void.self) { beats in
                    if !heartbeatTopics.isEmpty { beats.addTask { try await keepDelivering(heartbeatTopics) } }
                    defer { beats.cancelAll() }
                    return try await body(collector)
                }
                collector.close()
                try await tasks.waitForAll()
                return result
            } catch {
                collector.close()
                tasks.cancelAll()
                throw error
            }
        }
    }

    /// Sends a tombstone to each of `topics` every 200 ms until cancelled.
    func keepDelivering(_ heartbeatTopics: [String]) async throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(
                bootstrapServers: [cluster.bootstrapServers], clientID: "assure-test-heartbeat"),
            logger: logger)
        do {
            while !Task.isCancelled {
                let beats = heartbeatTopics.map {
                    OutboundMessage(topic: $0, key: "heartbeat", value: nil)
                }
                for result in await producer.send(beats) { _ = try result.get() }
                try await Task.sleep(for: .milliseconds(200))
            }
        } catch {
            await producer.shutdown(timeoutMs: 1000)
            throw error
        }
        await producer.shutdown(timeoutMs: 1000)
    }

    /// One tombstone (counted and skipped) on each input topic: the inputs delivered again after
    /// what was published before, as live inputs would (releases checks held on them).
    func publishHeartbeat() async throws {
        try await publish([topics.ledger, topics.accounts, topics.webhooks].map {
            OutboundMessage(topic: $0, key: "heartbeat", value: nil)
        })
    }

    /// Records a delivery of every input at `atMs`, as live inputs would make (releases held checks).
    func deliverAllInputs(atMs: Int64 = WallClock.nowMs()) async throws {
        try await withDatabase { database in
            try await database.client.withConnection { connection in
                try await InputHealthRepository.recordDelivery(
                    inputs: ["ledger", "accounts", "webhooks"], atMs: atMs, silenceMs: 1, on: connection, logger: logger)
            }
        }
    }

    func withDatabase<T: Sendable>(_ body: (Database) async throws -> T) async throws -> T {
        try await Database.withDatabase(configuration: database, logger: logger, body)
    }
}
