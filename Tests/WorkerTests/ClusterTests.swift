import CheckPipeline
import Foundation
import Persistence
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Crashes and rebalances: the outcome is the batch oracle's, however the stream was split or interrupted.
@Suite(.serialized) struct ClusterTests {
    static func traffic(users: Int) -> BillingTraffic {
        BillingTraffic.generate(.init(users: users, eventsPerUser: 30, seed: 99, endMs: WallClock.nowMs(), faultEvery: 11))
    }

    /// The oracle's open issues over everything the traffic published.
    static func oracle(_ traffic: BillingTraffic, settings: CheckSettings) -> [String: JSONValue] {
        var accounts: [AccountSnapshot] = []
        var watermark = Int64.min
        for event in traffic.events {
            switch event {
            case .account(let snapshot):
                accounts.append(snapshot)
                watermark = max(watermark, snapshot.updatedAtMs)
            case .ledger(let row): watermark = max(watermark, row.createdAtMs)
            case .webhook(let record): watermark = max(watermark, record.processedAtMs ?? watermark)
            case .gate(let gate): watermark = max(watermark, gate.updatedAtMs)
            case .stripe(let event): watermark = max(watermark, event.createdMs)
            case .malformed: break
            }
        }
        let issues = BatchOracle.evaluate(
            ledger: traffic.ledger, accounts: accounts, webhooks: traffic.webhooks, gates: traffic.gates,
            stripe: traffic.stripe, watermarkMs: watermark, settings: settings)
        return Dictionary(uniqueKeysWithValues: issues.map { ($0.issueId, $0.evidence) })
    }

    /// The open issues in the database once everything has settled.
    static func settledOpenIssues(_ env: WorkerTestEnvironment, settings: WorkerSettings) async throws -> [String: JSONValue] {
        try await env.withDatabase { database in
            let sweeper = Sweeper(
                client: database.client, settings: settings, relayWakeup: WakeupSignal(), alertWakeup: WakeupSignal(),
                logger: env.logger, clock: { WallClock.nowMs() + settings.checks.settleMs + 1 })
            for _ in 0..<10 { guard try await sweeper.sweepOnce().due > 0 else { break } }
            let open = try await database.client.withConnection { connection in
                try await Persistence.IssueRepository.open(on: connection, logger: env.logger)
            }
            return Dictionary(uniqueKeysWithValues: open.map { ($0.issueId, $0.evidence) })
        }
    }

    @Test func threeWorkersWithOneLeavingAndOneJoiningEndWithTheOraclesResult() async throws {
        let env = try await WorkerTestEnvironment.make(partitions: 6)
        let traffic = Self.traffic(users: 300)
        let messages = traffic.messages(topics: env.topics)
        let configuration = env.nodeConfiguration()
        try await WorkerFleet.with(configuration: configuration, count: 4, logger: env.logger) { fleet in
            await fleet.start(0)
            await fleet.start(1)
            await fleet.start(2)
            let half = messages.count / 2
            try await env.publish(Array(messages[..<half]))
            try await WorkerProbe.waitForConsumption(env, count: half / 2)
            await fleet.stop(1)
            await fleet.start(3)
            try await env.publish(Array(messages[half...]))
            try await WorkerProbe.waitForConsumption(env, count: messages.count)
        }
        let applied = try await WorkerProbe.appliedByTopic(env)
        #expect(applied[env.topics.ledger] == Int64(traffic.ledger.count))
        let open = try await Self.settledOpenIssues(env, settings: configuration.settings)
        let expected = Self.oracle(traffic, settings: configuration.settings.checks)
        #expect(Set(open.keys) == Set(expected.keys), "only streamed: \(Set(open.keys).subtracting(expected.keys).sorted()), only oracle: \(Set(expected.keys).subtracting(open.keys).sorted())")
        for (id, evidence) in expected where open[id] != nil {
            #expect(open[id] == evidence, "\(id)")
        }
    }

    @Test func aWorkerKilledWithSigkillMidStreamAndRestartedEndsWithTheOraclesResult() async throws {
        let env = try await WorkerTestEnvironment.make(partitions: 4)
        let traffic = Self.traffic(users: 400)
        let messages = traffic.messages(topics: env.topics)
        let settings = env.settings()
        let worker = try ChildWorker(env: env, settleMs: settings.checks.settleMs)
        _ = try await env.withDatabase { try await $0.migrate() }
        try await env.publish(messages)
        try worker.start()
        try await WorkerProbe.waitForConsumption(env, count: messages.count / 4)
        await worker.kill()
        let consumedAtKill = try await WorkerProbe.consumed(env)
        try worker.start()
        try await WorkerProbe.waitForConsumption(env, count: messages.count)
        await worker.terminate()
        #expect(consumedAtKill < messages.count, "the kill came after the stream was consumed")
        let applied = try await WorkerProbe.appliedByTopic(env)
        #expect(applied[env.topics.ledger] == Int64(traffic.ledger.count))
        let open = try await Self.settledOpenIssues(env, settings: settings)
        let expected = Self.oracle(traffic, settings: settings.checks)
        #expect(Set(open.keys) == Set(expected.keys), "only streamed: \(Set(open.keys).subtracting(expected.keys).sorted()), only oracle: \(Set(expected.keys).subtracting(open.keys).sorted())")
        for (id, evidence) in expected where open[id] != nil {
            #expect(open[id] == evidence, "\(id)")
        }
    }
}
