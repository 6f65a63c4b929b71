import AdminAPI
import ArgumentParser
import Consumers
import Foundation
import Logging
import Metrics
import Persistence
import Prometheus
import ServiceLifecycle
import Shared
import TestSupport
import WorkerRuntime

/// `assure-worker demo`: the whole system on the embedded default, end to end.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the embedded demo: mock Kafka, a throwaway PostgreSQL, two workers, traffic with faults, repairs.",
        discussion: """
            Starts librdkafka's mock cluster and a throwaway PostgreSQL, runs two workers in one group, publishes a \
            realistic stream with injected faults of every kind, prints the report, repairs one issue of every \
            repairable kind through the admin API, prints the report again and audits the streaming state against \
            the batch oracle. Everything is cleaned up on exit and on Ctrl-C.

            Examples:
              assure-worker demo
              assure-worker demo --users 200 --events-per-user 20
              assure-worker demo --users 200 --keep-running   # then open the printed triage page
              scripts/demo.sh --real-broker
            """)

    @Option(help: "Users in the generated stream.")
    var users = 1000

    @Option(help: "Ledger rows per user (plus their webhook records and account snapshots).")
    var eventsPerUser = 50

    @Option(help: "Seed of the generated stream.")
    var seed: UInt64 = 42

    @Option(help: "Settle time of cross-topic checks in the demo, in milliseconds.")
    var settleMs: Int64 = 2000

    @Flag(help: "Print the reports as JSON as well.")
    var json = false

    @Flag(help: "After the demo, keep the workers and their triage page up until Ctrl-C (prints the page's URL and token).")
    var keepRunning = false

    @Flag(
        help: """
            Run on a Tansu broker started for the demo instead of the mock cluster (needs ASSURE_TANSU_BIN and \
            librdkafka 2.1 or newer: use scripts/demo.sh --real-broker).
            """)
    var realBroker = false

    func run() async throws {
        let logger = WorkerLogging.makeLogger("assure.demo", unset: .warning)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let environment = try await DemoEnvironment.start(realBroker: realBroker, logger: logger)
        do {
            try await DemoRun(options: self, environment: environment, registry: registry, logger: logger).run()
            await environment.stop()
        } catch {
            await environment.stop()
            throw error
        }
    }
}
