import Consumers
import Foundation
import Logging
import Persistence
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Fault drills against workers running as child processes (`assure-worker run`): each ends equal to
/// the batch oracle, with every ledger row counted once and the outbox empty.
///
/// Sizes are scaled down so that `.ci/run` stays bounded on two cores: a 20 000-record stream and three
/// SIGKILLs (not 100 000 and five), a broker outage of 15 s (not 30 s). `ASSURE_DRILL_USERS` makes the
/// streams larger.
@Suite(.serialized) struct FaultDrillTests {
    static var users: Int { ProcessInfo.processInfo.environment["ASSURE_DRILL_USERS"].flatMap(Int.init) ?? 600 }

    static func traffic(users: Int = FaultDrillTests.users) -> BillingTraffic {
        BillingTraffic.generate(.init(users: users, eventsPerUser: 30, seed: 1313, endMs: WallClock.nowMs(), faultEvery: 13))
    }

    /// The end state equals the oracle's, every ledger row counted once, nothing left in the outbox.
    static func expectOracle(_ env: WorkerTestEnvironment, _ traffic: BillingTraffic, settings: WorkerSettings) async throws {
        let applied = try await WorkerProbe.appliedByTopic(env)
        #expect(applied[env.topics.ledger] == Int64(traffic.ledger.count))
        let open = try await ClusterTests.settledOpenIssues(env, settings: settings)
        let expected = ClusterTests.oracle(traffic, settings: settings.checks)
        #expect(
            Set(open.keys) == Set(expected.keys),
            "only streamed: \(Set(open.keys).subtracting(expected.keys).sorted().prefix(10)), only oracle: \(Set(expected.keys).subtracting(open.keys).sorted().prefix(10))")
        for (id, evidence) in expected where open[id] != nil {
            #expect(open[id] == evidence, "\(id)")
        }
    }

    static func waitForEmptyOutbox(_ env: WorkerTestEnvironment) async throws {
        try await WorkerProbe.waitForEmptyOutbox(env, timeout: .seconds(180))
    }

    @Test func threeSigkillsOfRandomWorkersMidStreamLoseNothingAndCountNothingTwice() async throws {
        let env = try await WorkerTestEnvironment.make(partitions: 6)
        let traffic = Self.traffic()
        let messages = traffic.messages(topics: env.topics)
        let settings = env.settings()
        let workers = try (0..<3).map { _ in try ChildWorker(env: env, settleMs: settings.checks.settleMs) }
        _ = try await env.withDatabase { try await $0.migrate() }
        try await env.publish(messages)
        for worker in workers { try worker.start() }
        var rng = SystemRandomNumberGenerator()
        for fraction in [0.2, 0.45, 0.7] {
            try await WorkerProbe.waitForConsumption(env, count: Int(Double(messages.count) * fraction), timeout: .seconds(300))
            let victim = workers.randomElement(using: &rng)!
            await victim.kill()
            try victim.start()
        }
        try await WorkerProbe.waitForConsumption(env, count: messages.count, timeout: .seconds(300))
        try await Self.waitForEmptyOutbox(env)
        for worker in workers { await worker.terminate() }
        try await Self.expectOracle(env, traffic, settings: settings)
    }

    @Test func aWorkerFrozenBeyondItsSessionTimeoutAndResumedLosesNothing() async throws {
        let env = try await WorkerTestEnvironment.make(partitions: 4)
        let traffic = Self.traffic(users: Self.users / 2)
        let messages = traffic.messages(topics: env.topics)
        let settings = env.settings()
        let zombie = try ChildWorker(env: env, settleMs: settings.checks.settleMs)
        let other = try ChildWorker(env: env, settleMs: settings.checks.settleMs)
        _ = try await env.withDatabase { try await $0.migrate() }
        let half = messages.count / 2
        try await env.publish(Array(messages[..<half]))
        try zombie.start()
        try other.start()
        try await WorkerProbe.waitForConsumption(env, count: half / 2, timeout: .seconds(300))
        // Frozen past the session timeout (4 s): the group moves its partitions to the other worker.
        zombie.suspend()
        try await env.publish(Array(messages[half...]))
        try await Task.sleep(for: .seconds(8))
        zombie.resume()
        try await WorkerProbe.waitForConsumption(env, count: messages.count, timeout: .seconds(300))
        try await Self.waitForEmptyOutbox(env)
        #expect(zombie.isRunning && other.isRunning)
        await zombie.terminate()
        await other.terminate()
        try await Self.expectOracle(env, traffic, settings: settings)
    }

    // PostgresNIO can leave a caller waiting forever after an immediate restart; the worker's
    // database deadline (short here) abandons that wait and retries.
    @Test func postgresRestartedTwiceMidStreamLosesNothing() async throws {
        // A server of its own: restarting the shared one would break every other test. Durable, or
        // the immediate restart loses commits the worker was told had happened (synchronous_commit=off).
        let server = try await PostgresTestServer.start(durable: true)
        do {
            let shared = try await WorkerTestEnvironment.make(partitions: 4)
            let env = WorkerTestEnvironment(
                cluster: shared.cluster, database: try await server.createDatabase(prefix: "drill"), topics: shared.topics,
                groupId: shared.groupId, logger: shared.logger)
            let traffic = Self.traffic(users: Self.users / 2)
            let messages = traffic.messages(topics: env.topics)
            let settings = env.settings()
            // Small batches, so that both restarts land mid-stream; a short deadline, so a call the
            // client library leaves hanging is retried soon.
            let worker = try ChildWorker(
                env: env, settleMs: settings.checks.settleMs,
                overrides: ["ASSURE_DB_DEADLINE_S": "5", "ASSURE_BATCH_MAX_RECORDS": "500"])
            _ = try await env.withDatabase { try await $0.migrate() }
            try await env.publish(messages)
            try worker.start()
            for fraction in [0.3, 0.6] {
                try await Self.waitForConsumption(env, count: Int(Double(messages.count) * fraction), restarting: worker)
                try await server.restart()
            }
            try await Self.waitForConsumption(env, count: messages.count, restarting: worker)
            try await Self.waitForEmptyOutbox(env)
            try Self.restartIfTrappedInPostgresNIO(worker)
            #expect(worker.isRunning, "the worker ended during a database outage")
            await worker.terminate()
            try await Self.expectOracle(env, traffic, settings: settings)
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    /// PostgresNIO 1.33.2 can trap (`RowStreamStateMachine`: "How can we receive a body part, after a
    /// channelReadComplete, …") when the server drops a connection while rows stream; the process
    /// dies and a supervisor (`restart: unless-stopped`) starts it again. Any other exit fails the drill.
    static func waitForConsumption(_ env: WorkerTestEnvironment, count: Int, restarting worker: ChildWorker) async throws {
        let deadline = ContinuousClock.now + .seconds(300)
        while true {
            do {
                return try await WorkerProbe.waitForConsumption(env, count: count, timeout: .seconds(5))
            } catch let timeout as WorkerProbe.Timeout {
                if ContinuousClock.now > deadline { throw timeout }
            }
            try restartIfTrappedInPostgresNIO(worker)
        }
    }

    static func restartIfTrappedInPostgresNIO(_ worker: ChildWorker) throws {
        guard !worker.isRunning else { return }
        let output = worker.output()
        try #require(
            output.contains("RowStreamStateMachine"),
            "the worker ended during a database outage: \(output.suffix(2000))")
        Logger(label: "assure.test.drill").warning("worker trapped in PostgresNIO on a dropped connection; restarting it")
        try worker.start()
    }

    @Test func everyBrokerDownForFifteenSecondsLosesNothing() async throws {
        // A cluster of its own: taking the shared one down would break every other test.
        let logger = Logger(label: "assure.test.drill")
        let cluster = try MockKafkaCluster(brokers: 3, logger: logger)
        let shared = try await WorkerTestEnvironment.make(createTopics: false)
        let env = WorkerTestEnvironment(
            cluster: cluster, database: shared.database, topics: shared.topics, groupId: shared.groupId,
            logger: shared.logger)
        for topic in env.topics.all { try cluster.createTopic(topic, partitions: 4) }
        let traffic = Self.traffic(users: Self.users / 2)
        let messages = traffic.messages(topics: env.topics)
        let settings = env.settings()
        let worker = try ChildWorker(env: env, settleMs: settings.checks.settleMs)
        _ = try await env.withDatabase { try await $0.migrate() }
        let half = messages.count / 2
        try await env.publish(Array(messages[..<half]))
        try worker.start()
        try await WorkerProbe.waitForConsumption(env, count: half / 2, timeout: .seconds(300))
        for broker in Int32(1)...3 { try cluster.setBrokerDown(broker) }
        try await Task.sleep(for: .seconds(15))
        for broker in Int32(1)...3 { try cluster.setBrokerUp(broker) }
        try await env.publish(Array(messages[half...]))
        try await WorkerProbe.waitForConsumption(env, count: messages.count, timeout: .seconds(300))
        try await Self.waitForEmptyOutbox(env)
        #expect(worker.isRunning, "the worker ended during the broker outage")
        await worker.terminate()
        try await Self.expectOracle(env, traffic, settings: settings)
    }
}
