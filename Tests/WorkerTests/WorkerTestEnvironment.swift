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

    func settings(settleMs: Int64 = 300, commandKey: String? = "test-command-key") -> WorkerSettings {
        var settings = WorkerSettings(
            groupId: groupId, topics: topics, checks: CheckSettings(settleMs: settleMs), alertDedupSeconds: 3600,
            alertGroupWaitMs: 200, commandKey: commandKey.map { Array($0.utf8) })
        settings.sweepIntervalMs = 100
        return settings
    }

    var kafka: KafkaConfiguration {
        KafkaConfiguration(
            bootstrapServers: [cluster.bootstrapServers], clientID: "assure-test-worker", groupID: groupId,
            sessionTimeoutMs: 4000, heartbeatIntervalMs: 500, maxBatchWaitMs: 20, reconnectBackoffMaxMs: 500)
    }

    func nodeConfiguration(settleMs: Int64 = 300) -> WorkerNode.Configuration {
        WorkerNode.Configuration(database: database, kafka: kafka, settings: settings(settleMs: settleMs))
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
    func withCollector<T: Sendable>(_ body: @Sendable (TopicCollector) async throws -> T) async throws -> T {
        let collector = try collector()
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await collector.run() }
            do {
                let result = try await body(collector)
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

    func withDatabase<T: Sendable>(_ body: (Database) async throws -> T) async throws -> T {
        try await Database.withDatabase(configuration: database, logger: logger, body)
    }
}
