import AdminAPI
import Consumers
import Foundation
import Logging
import Persistence
import Shared
import TestSupport

/// The demo's throwaway infrastructure: the mock Kafka cluster, PostgreSQL, a token file and a command key.
struct DemoEnvironment: Sendable {
    let cluster: MockKafkaCluster
    let postgres: PostgresTestServer
    let database: DatabaseConfiguration
    let topics = Topics()
    let directory: String
    let adminToken: String
    let tokensPath: String
    let commandKey: String

    static func start(logger: Logger) async throws -> DemoEnvironment {
        print("Starting librdkafka's mock Kafka cluster (3 brokers) …")
        let cluster = try MockKafkaCluster(brokers: 3, logger: logger)
        for topic in Topics().all { try cluster.createTopic(topic, partitions: 6) }
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
            cluster: cluster, postgres: postgres, database: database, directory: directory, adminToken: token,
            tokensPath: tokensPath, commandKey: UUID().uuidString)
    }

    func stop() async {
        await postgres.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
