import Consumers
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import UnixSignals
import Shared

/// One worker process's services in dependency order: the database pool first, then the producer,
/// the outbox relay, the group member, the sweeper and the alert evaluator, then any extra services
/// (the admin API). Graceful shutdown runs in reverse: the API stops first, the consumer finishes
/// and commits its batch and leaves the group, the relay drains, the producer flushes, and the
/// database pool closes last.
public struct WorkerNode: Sendable {
    /// What a node is built from.
    public struct Configuration: Sendable {
        public var database: DatabaseConfiguration
        public var kafka: KafkaConfiguration
        public var settings: WorkerSettings
        public var deadLetterPolicy: DeadLetterPolicy
        public var clock: @Sendable () -> Int64

        public init(
            database: DatabaseConfiguration, kafka: KafkaConfiguration, settings: WorkerSettings,
            deadLetterPolicy: DeadLetterPolicy = .deadLetter, clock: @escaping @Sendable () -> Int64 = WallClock.nowMs
        ) {
            self.database = database
            self.kafka = kafka
            self.settings = settings
            self.deadLetterPolicy = deadLetterPolicy
            self.clock = clock
        }
    }

    /// What extra services (the admin API) may use.
    public struct Context: Sendable {
        public var database: Database
        public var producer: KafkaProducer
        public var status: WorkerStatus
        public var reports: ReportQuery
        public var settings: WorkerSettings
        public var logger: Logger
    }

    public let configuration: Configuration
    public let database: Database
    public let producer: KafkaProducer
    public let group: KafkaConsumerGroup
    public let status = WorkerStatus()
    public let relayWakeup = WakeupSignal()
    public let alertWakeup = WakeupSignal()
    /// Opens once the database is reachable and migrated.
    public let ready = StartupGate()
    let logger: Logger

    public init(configuration: Configuration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        self.database = try Database(configuration: configuration.database, logger: logger)
        var kafka = configuration.kafka
        kafka.groupID = configuration.settings.groupId
        self.producer = try KafkaProducer(configuration: kafka, logger: logger)
        let topics = configuration.settings.topics
        self.group = try KafkaConsumerGroup(
            topics: topics.inputs + [topics.commands], configuration: kafka, logger: logger)
    }

    /// The Kafka settings the node's clients were made with (for a producer made anew).
    var producerConfiguration: KafkaConfiguration {
        var kafka = configuration.kafka
        kafka.groupID = configuration.settings.groupId
        return kafka
    }

    public var context: Context {
        Context(
            database: database, producer: producer, status: status,
            reports: ReportQuery(client: database.client, settings: configuration.settings, logger: logger),
            settings: configuration.settings, logger: logger)
    }

    /// The node's services in start order.
    public func services(extra: [any Service] = []) -> [any Service] {
        let client = database.client
        let settings = configuration.settings
        let processor = BatchProcessor(
            client: client, settings: settings, deadLetterPolicy: configuration.deadLetterPolicy, logger: logger,
            clock: configuration.clock)
        return [
            DatabaseService(database: database, ready: ready),
            producer,
            GatedService(
                ready,
                OutboxRelay(
                    client: client, producer: producer, wakeup: relayWakeup,
                    makeProducer: { [kafka = producerConfiguration, logger] in
                        try KafkaProducer(configuration: kafka, logger: logger)
                    },
                    deadline: DatabaseDeadline(
                        .seconds(settings.databaseDeadlineSeconds) + .milliseconds(producerConfiguration.messageTimeoutMs)),
                    stepDeadline: settings.databaseDeadline, logger: logger)),
            GatedService(
                ready,
                ConsumerWorker(
                    group: group, processor: processor, relayWakeup: relayWakeup, alertWakeup: alertWakeup,
                    status: status, logger: logger)),
            GatedService(
                ready,
                Sweeper(
                    client: client, settings: settings, relayWakeup: relayWakeup, alertWakeup: alertWakeup,
                    logger: logger, clock: configuration.clock, cache: processor.cache)),
            GatedService(
                ready,
                AlertEvaluator(
                    client: client, settings: settings, wakeup: alertWakeup, relayWakeup: relayWakeup, logger: logger,
                    clock: configuration.clock)),
        ] + extra
    }

    /// Waits for the database, migrates, then runs every service until a signal or cancellation.
    public func run(extra: [any Service] = [], signals: [UnixSignal] = [.sigterm, .sigint]) async throws {
        var configuration = ServiceGroupConfiguration(
            services: services(extra: extra).map {
                .init(
                    service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: signals, logger: logger)
        // Shutdown is bounded: what has not finished by then is cancelled (uncommitted work is redone
        // by whoever owns the partitions next, so nothing is lost).
        configuration.maximumGracefulShutdownDuration = Self.maximumShutdown
        try await ServiceGroup(configuration: configuration).run()
    }

    /// The longest a graceful shutdown may take before the rest is cancelled.
    public static let maximumShutdown: Duration = .seconds(30)
}

/// Runs the database pool as a service: migrations first, then the pool until shutdown.
struct DatabaseService: Service {
    let database: Database
    let ready: StartupGate

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await database.run() }
            try await database.waitUntilReachable()
            _ = try await database.migrate()
            ready.openGate()
            try? await gracefulShutdown()
            tasks.cancelAll()
        }
    }
}

/// A service that starts only once the database is ready; a shutdown before that ends it at once.
struct GatedService<Wrapped: Service>: Service {
    let gate: StartupGate
    let wrapped: Wrapped

    init(_ gate: StartupGate, _ wrapped: Wrapped) {
        self.gate = gate
        self.wrapped = wrapped
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await gate.wait()
        } onGracefulShutdown: {
            gate.openGate()
        }
        guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
        try await wrapped.run()
    }
}
