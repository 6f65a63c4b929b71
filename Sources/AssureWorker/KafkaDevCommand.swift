import ArgumentParser
import Consumers
import Foundation
import Logging
import ServiceLifecycle
import Shared

/// `assure-worker kafka-dev`: an in-process mock Kafka cluster with every topic of the contract,
/// reachable from other processes, until SIGINT or SIGTERM.
struct KafkaDevCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-dev",
        abstract: "Run librdkafka's mock Kafka cluster with the contract's topics (prints bootstrap=<servers>).",
        discussion: """
            For development and tests: other processes (workers, kcat) reach it on loopback until SIGINT/SIGTERM.

            Examples:
              assure-worker kafka-dev --brokers 3 --partitions 6
              kcat -L -b <the printed bootstrap servers>
            """
    )

    @Option(help: "Number of brokers.")
    var brokers: Int = 3

    @Option(help: "Partitions per topic.")
    var partitions: Int = 6

    @Option(help: "Topic name prefix (default ASSURE_TOPIC_PREFIX, else billing.).")
    var topicPrefix: String?

    func run() async throws {
        let logger = Logger(label: "assure.kafka-dev")
        let cluster = try MockKafkaCluster(brokers: brokers, logger: logger)
        let prefix = topicPrefix ?? AssureConfiguration.topicPrefix()
        for topic in Topics(prefix: prefix).all {
            try cluster.createTopic(topic, partitions: partitions)
        }
        // Written straight to the file descriptor: nothing sits in a stdio buffer when a parent
        // process waits for this line through a pipe.
        FileHandle.standardOutput.write(Data("bootstrap=\(cluster.bootstrapServers)\n".utf8))
        let group = ServiceGroup(
            services: [WaitForShutdown()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        try await group.run()
        withExtendedLifetime(cluster) {}
    }
}

/// Runs until graceful shutdown: keeps the mock cluster's process alive.
private struct WaitForShutdown: Service {
    func run() async throws { try? await gracefulShutdown() }
}
