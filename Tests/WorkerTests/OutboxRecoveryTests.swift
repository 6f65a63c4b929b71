import Consumers
import Foundation
import Persistence
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// A worker that dies after committing a decision and before publishing it: the outbox still holds the
/// result and the alert, and restarted workers publish each exactly once.
@Suite struct OutboxRecoveryTests {
    @Test func aRepairResultAndAnAlertDecidedBeforeACrashArePublishedExactlyOnceAfterRestart() async throws {
        let env = try await WorkerTestEnvironment.make()
        try await env.withDatabase { database in
            _ = try await database.migrate()
            let driver = DatabaseDriver(
                env: env, database: database, settings: env.settings(settleMs: 0), clock: TestClock(now: WallClock.nowMs()))
            let traffic = try await RepairCommandTests.seed(driver)
            let result = try await driver.command(driver.signed(issueId: RepairCommandTests.issueId(traffic, .creditBalanceMismatch)))
            #expect(result.outcome == .applied)
            let evaluator = AlertEvaluatorTests.evaluators(driver, count: 1)[0]
            _ = try await evaluator.evaluateOnce()
            driver.clock.advance(by: driver.settings.alertGroupWaitMs)
            _ = try await evaluator.evaluateOnce()
            // The crash: nothing was published. Two restarted workers relay at once.
            let pending = try await database.client.withConnection { connection in
                try await OutboxRepository.pending(limit: 1_000_000, on: connection, logger: env.logger)
            }
            #expect(pending.count(where: { $0.message.topic == env.topics.alerts }) == 1)
            #expect(pending.count(where: { $0.message.topic == env.topics.repairs }) == 1)
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: [env.cluster.bootstrapServers]), logger: env.logger)
            let relays = (0..<2).map { _ in
                OutboxRelay(client: database.client, producer: producer, wakeup: WakeupSignal(), batchSize: 50, logger: env.logger)
            }
            try await env.withCollector { collector in
                while try await database.client.withConnection({ try await OutboxRepository.backlog(on: $0, logger: env.logger) }) > 0 {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for relay in relays { group.addTask { _ = try await relay.relayOnce() } }
                        try await group.waitForAll()
                    }
                }
                let outputTopics: Set<String> = [env.topics.issues, env.topics.alerts, env.topics.repairs, env.topics.deadLetters]
                let expected = pending.count { outputTopics.contains($0.message.topic) }
                let all = await collector.wait(timeout: .seconds(60)) { $0.all.count >= expected }
                #expect(all)
                #expect(collector.all.count == expected)
                #expect(collector.messages(on: env.topics.alerts).count == 1)
                #expect(collector.decoded(RepairResult.self, topic: env.topics.repairs).map(\.commandId) == [result.commandId])
            }
            await producer.shutdown()
        }
    }
}
