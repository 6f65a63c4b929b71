// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "assure",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "assure-worker", targets: ["AssureWorker"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
    ],
    targets: [
        // librdkafka's C API; imported only by Sources/Consumers/RDKafka.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        // The project's own value types: a leaf, imports nothing of ours.
        .target(name: "Shared"),
        // The Kafka side: producer, consumer group, mock cluster, decoding, dead letters.
        .target(
            name: "Consumers",
            dependencies: [
                "CRdKafka", "Shared",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The checks as pure incremental logic: no Kafka, no SQL, no HTTP.
        .target(name: "CheckPipeline", dependencies: ["Shared"]),
        // PostgreSQL: migrations, per-user state, offsets, issues, outbox.
        .target(
            name: "Persistence",
            dependencies: [
                "Shared", "CheckPipeline",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Verifying, authorizing and applying signed repair commands.
        .target(
            name: "RepairCommands",
            dependencies: [
                "Shared", "CheckPipeline", "Persistence",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The running worker: consume, check, persist, relay, sweep, alert.
        .target(
            name: "WorkerRuntime",
            dependencies: [
                "Shared", "Consumers", "CheckPipeline", "Persistence", "RepairCommands",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // The admin HTTP API (report, repairs, replay readiness, health, metrics).
        .target(
            name: "AdminAPI",
            dependencies: [
                "Shared", "Persistence", "RepairCommands", "WorkerRuntime",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "AssureWorker",
            dependencies: [
                "Shared", "Consumers", "CheckPipeline", "Persistence", "RepairCommands",
                "WorkerRuntime", "AdminAPI", "TestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        // Throwaway PostgreSQL servers and mock-cluster helpers shared by tests and the demo.
        .target(
            name: "TestSupport",
            dependencies: [
                "Shared", "Consumers", "Persistence", "WorkerRuntime",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "PipelineBenchmark",
            dependencies: ["Shared", "CheckPipeline"]
        ),
        .executableTarget(name: "DecodingBenchmark", dependencies: ["Shared", "Consumers"]),
        // End-to-end throughput of one worker's batch processing against a throwaway PostgreSQL.
        .executableTarget(
            name: "WorkerBenchmark",
            dependencies: [
                "Shared", "Consumers", "CheckPipeline", "Persistence", "WorkerRuntime", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "PipelineTests", dependencies: ["Shared", "CheckPipeline"]),
        .testTarget(
            name: "WorkerTests",
            dependencies: [
                "Shared", "Consumers", "CheckPipeline", "Persistence", "RepairCommands", "WorkerRuntime", "AdminAPI",
                "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // Persistence on its own: URLs, connecting, deadlines, migrations, the versioned state rows.
        .testTarget(
            name: "PersistenceTests",
            dependencies: [
                "Persistence", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Kafka side on its own: decoding, dead letters, the consumer group and producer on the mock cluster.
        .testTarget(
            name: "ConsumerTests",
            dependencies: ["Shared", "Consumers", .product(name: "Logging", package: "swift-log")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
