import AdminAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// `/readyz` tells the truth: 503 with a reason while starting, stopping, without a database, without
/// consumption progress although records wait, and while the outbox holds a refused row.
@Suite struct ReadinessTests {
    struct Probe: Sendable {
        var status = WorkerStatus()
        var clock = TestClock(now: 1_000_000)
        var database = Flag(true)
        var refusedSeconds = Value<Double?>(nil)
    }

    final class Flag: Sendable {
        private let value: Mutex<Bool>
        init(_ value: Bool) { self.value = Mutex(value) }
        var get: Bool { value.withLock { $0 } }
        func set(_ new: Bool) { value.withLock { $0 = new } }
    }

    final class Value<T: Sendable>: Sendable {
        private let value: Mutex<T>
        init(_ value: T) { self.value = Mutex(value) }
        var get: T { value.withLock { $0 } }
        func set(_ new: T) { value.withLock { $0 = new } }
    }

    static func readiness(_ probe: Probe, _ client: any TestClientProtocol) async throws -> (Int, [String: Any]) {
        try await client.execute(uri: "/readyz", method: .get) { response in
            let json = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any] ?? [:]
            return (Int(response.status.code), json)
        }
    }

    @Test func readyzAnswers503WithTheReasonForEachContractCondition() async throws {
        try await DatabaseDriver.with { driver in
            let probe = Probe()
            var settings = driver.settings
            settings.progressTimeoutSeconds = 60
            let dependencies = AdminAPIDependencies(
                tokens: .none,
                reports: ReportQuery(client: driver.database.client, settings: settings, logger: driver.env.logger),
                settings: settings, publishCommand: { _ in }, databaseReachable: { probe.database.get },
                status: probe.status, registry: PrometheusCollectorRegistry(), clock: { probe.clock.now },
                outboxRefusalSeconds: { probe.refusedSeconds.get }, logger: driver.env.logger)
            let app = Application(router: AdminRouter.build(dependencies))
            try await app.test(.router) { client in
                var (code, json) = try await Self.readiness(probe, client)
                #expect(code == 503 && json["reason"] as? String == "starting" && json["ready"] as? Bool == false)
                probe.status.setConsuming(true)
                (code, json) = try await Self.readiness(probe, client)
                #expect(code == 200 && json["ready"] as? Bool == true && json["reason"] == nil)

                probe.database.set(false)
                (code, json) = try await Self.readiness(probe, client)
                #expect(code == 503 && json["reason"] as? String == "database unreachable")
                probe.database.set(true)

                // Records wait and nothing commits for longer than the timeout.
                probe.status.batchStarted(nowMs: probe.clock.now)
                probe.status.lag(500, nowMs: probe.clock.now)
                probe.clock.advance(by: 59_000)
                (code, _) = try await Self.readiness(probe, client)
                #expect(code == 200)
                probe.clock.advance(by: 2_000)
                (code, json) = try await Self.readiness(probe, client)
                #expect(code == 503)
                #expect((json["reason"] as? String)?.contains("no consumption progress for 61 s") == true, "\(json)")
                // A commit is progress; with nothing left waiting the clock may run.
                probe.status.batchCommitted(nowMs: probe.clock.now)
                probe.status.lag(0, nowMs: probe.clock.now)
                probe.clock.advance(by: 120_000)
                (code, _) = try await Self.readiness(probe, client)
                #expect(code == 200)
                // Idle for long, then a batch arrives: the timeout counts from its arrival.
                probe.status.batchStarted(nowMs: probe.clock.now)
                probe.clock.advance(by: 1_000)
                (code, _) = try await Self.readiness(probe, client)
                #expect(code == 200)
                probe.status.batchCommitted(nowMs: probe.clock.now)

                probe.refusedSeconds.set(30)
                (code, _) = try await Self.readiness(probe, client)
                #expect(code == 200)
                probe.refusedSeconds.set(61)
                (code, json) = try await Self.readiness(probe, client)
                #expect(code == 503)
                #expect((json["reason"] as? String)?.contains("refused") == true)
                probe.refusedSeconds.set(nil)

                probe.status.setShuttingDown()
                (code, json) = try await Self.readiness(probe, client)
                #expect(code == 503 && json["reason"] as? String == "stopping")
            }
        }
    }
}

import Synchronization
