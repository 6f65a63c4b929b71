import AdminAPI
import Consumers
import Foundation
import Logging
import Persistence
import Shared
import TestSupport

/// The demo's throwaway infrastructure: the mock Kafka cluster (or a Tansu broker), PostgreSQL, a token
/// file and a command key.
struct DemoEnvironment: Sendable {
    let cluster: any TestKafkaBroker
    /// The Tansu broker of `--real-broker`, stopped with the rest.
    let tansu: TansuTestBroker?
    let postgres: PostgresTestServer
    let database: DatabaseConfiguration
    let topics = Topics()
    let directory: String
    let adminToken: String
    let tokensPath: String
    let commandKey: String

    static func start(realBroker: Bool, logger: Logger) async throws -> DemoEnvironment {
        let cluster: any TestKafkaBroker
        let tansu: TansuTestBroker?
        if realBroker {
            guard TansuTestBroker.libraryCanTalkToTansu else {
                throw DemoRun.Failure(
                    description: "librdkafka \(KafkaLibrary.version) cannot talk to Tansu: run scripts/demo.sh --real-broker")
            }
            print("Starting a Tansu broker (librdkafka \(KafkaLibrary.version)) …")
            let broker = try await TansuTestBroker.start(logger: logger)
            (cluster, tansu) = (broker, broker)
        } else {
            print("Starting librdkafka's mock Kafka cluster (3 brokers) …")
            (cluster, tansu) = (try MockKafkaCluster(brokers: 3, logger: logger), nil)
        }
        do {
            for topic in Topics().all { try await cluster.createTestTopic(topic, partitions: 6) }
            return try await make(cluster: cluster, tansu: tansu, logger: logger)
        } catch {
            await tansu?.stop()
            throw error
        }
    }

    private static func make(cluster: any TestKafkaBroker, tansu: TansuTestBroker?, logger: Logger) async throws
        -> DemoEnvironment
    {
        print("  bootstrap=\(cluster.bootstrapServers)")
        print("Starting a throwaway PostgreSQL …")
        let postgres = try await PostgresTestServer.start(logger: logger)
        let database = try await postgres.createDatabase(prefix: "demo")
        print("  \(database.redactedURL)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("assure-demo-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let token = "demo-" + UUID().uuidString
        let tokensPath = directory + "/admin-tokens"
        try "# demo admin\n\(AdminTokens.hash(token: token)) oncall_demo ADMIN\n".write(
            toFile: tokensPath, atomically: true, encoding: .utf8)
        return DemoEnvironment(
            cluster: cluster, tansu: tansu, postgres: postgres, database: database, directory: directory, adminToken: token,
            tokensPath: tokensPath, commandKey: UUID().uuidString)
    }

    func stop() async {
        await postgres.stop()
        await tansu?.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
