import AdminAPI
import Consumers
import Foundation
import Logging
import Persistence
import Shared
import Synchronization
import TestSupport

/// What the benchmark starts and must take down again: the mock cluster, a durable throwaway
/// PostgreSQL, the producer, the worker processes and a scratch folder for their logs.
final class BenchEnvironment: Sendable {
    let cluster: MockKafkaCluster
    let postgres: PostgresTestServer
    let database: DatabaseConfiguration
    let topics: Topics
    let directory: String
    let producer: KafkaProducer
    let groupId = "bench-workers-\(UUID().uuidString.prefix(8))"
    /// The admin API of the first worker (the report phase asks it), and an admin token for it.
    let apiPort: Int
    let adminToken = "bench-" + UUID().uuidString
    private let children = Mutex<[BenchProcess]>([])

    private init(
        cluster: MockKafkaCluster, postgres: PostgresTestServer, database: DatabaseConfiguration, topics: Topics,
        directory: String, producer: KafkaProducer, apiPort: Int
    ) throws {
        self.cluster = cluster
        self.postgres = postgres
        self.database = database
        self.topics = topics
        self.directory = directory
        self.producer = producer
        self.apiPort = apiPort
        try "# bench admin\n\(AdminTokens.hash(token: adminToken)) bench_admin ADMIN\n".write(
            toFile: tokensPath, atomically: true, encoding: .utf8)
    }

    private var tokensPath: String { directory + "/admin-tokens" }

    /// Starts everything; on failure, takes down what it already started.
    static func start(partitions: Int, logger: Logger) async throws -> BenchEnvironment {
        let topics = Topics()
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        for topic in topics.all { try cluster.createTopic(topic, partitions: partitions) }
        // Durable: fsync, synchronous_commit and full_page_writes on, as in production.
        let postgres = try await PostgresTestServer.start(durable: true, logger: logger)
        do {
            let database = try await postgres.createDatabase(prefix: "bench")
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("assure-bench-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // lz4 keeps a million rows within what the mock cluster holds per partition (about 5 MB).
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(
                    bootstrapServers: [cluster.bootstrapServers], clientID: "assure-bench-producer",
                    reconnectBackoffMaxMs: 500,
                    properties: ["compression.type": "lz4", "queue.buffering.max.messages": "1000000"]),
                logger: logger)
            return try BenchEnvironment(
                cluster: cluster, postgres: postgres, database: database, topics: topics, directory: directory,
                producer: producer, apiPort: try PostgresTestServer.freeLoopbackPort())
        } catch {
            await postgres.stop()
            throw error
        }
    }

    /// The environment of a child `assure-worker`: the caller's ASSURE_* settings, with the cluster,
    /// database and group of this run. Settle-time checks are pushed out of the run (a day), so only
    /// the markers and the faulty rows open issues.
    var childEnvironment: [String: String] {
        AssureConfiguration.childEnvironment(
            setting: [
                "ASSURE_KAFKA_BROKERS": cluster.bootstrapServers, "ASSURE_DATABASE_URL": database.url,
                "ASSURE_GROUP_ID": groupId, "ASSURE_TOPIC_PREFIX": topics.prefix, "ASSURE_HTTP_PORT": "0",
                "ASSURE_ADMIN_TOKENS": tokensPath,
                "ASSURE_RDKAFKA_SESSION_TIMEOUT_MS": "6000", "ASSURE_RDKAFKA_HEARTBEAT_INTERVAL_MS": "500",
                "ASSURE_RDKAFKA_RECONNECT_BACKOFF_MAX_MS": "500",
            ],
            unlessSet: [
                "ASSURE_SETTLE_MS": "86400000", "ASSURE_LOG_LEVEL": "warning", "ASSURE_COMMAND_KEY": "bench-command-key",
            ])
    }

    /// Runs `assure-worker migrate` against the run's database.
    func migrate() async throws {
        let child = try BenchProcess(
            name: "migrate", arguments: ["migrate"], environment: childEnvironment, directory: directory)
        guard let status = await child.waitForExit(timeout: .seconds(120)) else {
            await child.stop()
            throw BenchFailure("migrate did not finish in 120 s:\n\(child.logTail())")
        }
        guard status == 0 else { throw BenchFailure("migrate failed (exit \(status)):\n\(child.logTail())") }
    }

    /// Starts `count` `assure-worker run` processes in the run's group.
    func startWorkers(_ count: Int) throws -> [BenchProcess] {
        let started = try (0..<count).map { index in
            var environment = childEnvironment
            if index == 0 { environment["ASSURE_HTTP_PORT"] = String(apiPort) }
            return try BenchProcess(
                name: "worker-\(index + 1)", arguments: ["run"], environment: environment, directory: directory)
        }
        children.withLock { $0 += started }
        return started
    }

    /// Stops the workers (gracefully, then SIGKILL), the producer and PostgreSQL; removes the folder.
    func stop() async {
        let running = children.withLock { children in
            defer { children = [] }
            return children
        }
        await withTaskGroup(of: Void.self) { group in
            for child in running { group.addTask { await child.stop() } }
        }
        await producer.shutdown(timeoutMs: 5_000)
        await postgres.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Why the benchmark could not produce its figures.
struct BenchFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
