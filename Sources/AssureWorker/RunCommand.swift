import AdminAPI
import ArgumentParser
import Consumers
import Foundation
import Logging
import Metrics
import Persistence
import Prometheus
import ServiceLifecycle
import UnixSignals
import Shared
import WorkerRuntime

/// `assure-worker run`: one member of the consumer group plus the admin API.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one worker: a consumer-group member plus the admin API.",
        discussion: """
            Every setting comes from the environment (see README); start as many workers as you like with the \
            same ASSURE_GROUP_ID and they share the partitions.

            Examples:
              ASSURE_KAFKA_BROKERS=localhost:9092 ASSURE_DATABASE_URL=postgres://postgres@localhost:5432/postgres \\
                assure-worker run
              assure-worker run --http-port 0          # no admin API
            """)

    @Option(help: "Admin API port, overriding ASSURE_HTTP_PORT (0 = off).")
    var httpPort: Int?

    @Option(help: "Kafka bootstrap servers, overriding ASSURE_KAFKA_BROKERS.")
    var brokers: String?

    @Option(help: "PostgreSQL URL, overriding ASSURE_DATABASE_URL.")
    var databaseURL: String?

    @Option(help: "What to do with unusable input messages: dead-letter (default) or fail (ASSURE_BAD_RECORD_POLICY).")
    var badRecordPolicy: String?

    func run() async throws {
        var config = try AssureConfiguration.fromEnvironment()
        if let httpPort { config.httpPort = httpPort }
        if let brokers { config.kafkaBrokers = brokers }
        if let databaseURL { config.databaseURL = databaseURL }
        if let badRecordPolicy { config.deadLetterPolicy = try AssureConfiguration.parsePolicy(badRecordPolicy) }
        let logger = WorkerLogging.makeLogger("assure.worker")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        try await WorkerProcess.run(config, registry: registry, logger: logger)
    }
}

/// Builds and runs one worker from a configuration (shared by `run` and `demo`).
enum WorkerProcess {
    static func run(
        _ config: AssureConfiguration, registry: PrometheusCollectorRegistry, logger: Logger,
        signals: [UnixSignal] = [.sigterm, .sigint]
    ) async throws {
        let node = try makeNode(config, logger: logger)
        var extra: [any Service] = []
        if config.httpPort > 0 {
            extra.append(try adminAPI(config, node: node, registry: registry, logger: logger))
        }
        try await node.run(extra: extra, signals: signals)
    }

    static func makeNode(_ config: AssureConfiguration, logger: Logger) throws -> WorkerNode {
        let database = try DatabaseConfiguration.parse(url: config.databaseURL)
        let kafka = config.kafkaConfiguration
        return try WorkerNode(
            configuration: .init(
                database: database, kafka: kafka, settings: config.worker, deadLetterPolicy: config.deadLetterPolicy),
            logger: logger)
    }

    static func adminAPI(
        _ config: AssureConfiguration, node: WorkerNode, registry: PrometheusCollectorRegistry, logger: Logger
    ) throws -> any Service {
        let context = node.context
        // An unreadable or malformed token file is bad configuration: exit with the reason.
        let tokens = try config.adminTokensPath.map { try AdminTokens.load(path: $0) } ?? .none
        let producer = context.producer
        let client = context.database.client
        let dependencies = AdminAPIDependencies(
            tokens: tokens, reports: context.reports, settings: context.settings,
            publishCommand: { message in try await producer.send(message) },
            databaseReachable: {
                do {
                    try await client.withConnection { try await ReportRepository.ping(on: $0, logger: logger) }
                    return true
                } catch {
                    return false
                }
            },
            status: context.status, registry: registry,
            outboxRefusalSeconds: {
                try? await client.withConnection { connection in
                    try await OutboxRepository.oldestRefusalSeconds(on: connection, logger: logger)
                }
            },
            logger: logger)
        return ShutdownMarkingService(
            status: context.status, wrapped: AdminRouter.application(dependencies, port: config.httpPort))
    }
}

/// Marks the worker as shutting down (so `/readyz` answers 503) as soon as graceful shutdown begins.
struct ShutdownMarkingService<Wrapped: Service>: Service {
    let status: WorkerStatus
    let wrapped: Wrapped

    func run() async throws {
        try await withGracefulShutdownHandler {
            try await wrapped.run()
        } onGracefulShutdown: {
            status.setShuttingDown()
        }
    }
}
