import AdminAPI
import Consumers
import Foundation
import Logging
import Persistence
import PostgresNIO
import Prometheus
import ServiceLifecycle
import Shared
import TestSupport
import WorkerRuntime

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The demo's script, run next to two workers in one service group.
struct DemoRun {
    let options: DemoCommand
    let environment: DemoEnvironment
    let registry: PrometheusCollectorRegistry
    let logger: Logger

    /// Why the demo did not finish as it should.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func run() async throws {
        let ports = [try PostgresTestServer.freeLoopbackPort(), try PostgresTestServer.freeLoopbackPort()]
        var services: [any Service] = []
        var nodes: [WorkerNode] = []
        for (index, port) in ports.enumerated() {
            let config = workerConfiguration(httpPort: port)
            let node = try WorkerProcess.makeNode(config, logger: logger)
            nodes.append(node)
            services += node.services(
                extra: [try WorkerProcess.adminAPI(config, node: node, registry: registry, logger: logger)])
            print("Worker \(index + 1): admin API on http://127.0.0.1:\(port)")
        }
        let script = DemoScript(run: self, apiPort: ports[0], nodes: nodes)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map {
                    .init(service: $0, successTerminationBehavior: .ignore, failureTerminationBehavior: .gracefullyShutdownGroup)
                } + [.init(service: script, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        if let failure = script.outcome.failure { throw failure }
    }

    func workerConfiguration(httpPort: Int) -> AssureConfiguration {
        var settings = WorkerSettings(
            topics: environment.topics,
            checks: CheckSettings(settleMs: options.settleMs),
            alertGroupWaitMs: 1000,
            commandKey: Array(environment.commandKey.utf8))
        settings.sweepIntervalMs = 250
        return AssureConfiguration(
            kafkaBrokers: environment.cluster.bootstrapServers, databaseURL: environment.database.url,
            httpPort: httpPort, adminTokensPath: environment.tokensPath,
            rdkafkaProperties: [
                "session.timeout.ms": "4000", "heartbeat.interval.ms": "500", "reconnect.backoff.max.ms": "500",
            ],
            deadLetterPolicy: .deadLetter, worker: settings)
    }
}
