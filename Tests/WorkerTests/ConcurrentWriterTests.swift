import CheckPipeline
import Foundation
import Persistence
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Batch processors keep entity states in memory and write them back only at the version they read.
/// These tests make several processors, each with its own cache, write the same states at once.
@Suite struct ConcurrentWriterTests {
    @Test func processorsSharingUsersAcrossTopicsEndWithTheOraclesResultThroughConflicts() async throws {
        let env = try await WorkerTestEnvironment.make(createTopics: false)
        let traffic = ClusterTests.traffic(users: 200)
        let settings = env.settings()
        let records = BillingTraffic.inboundRecords(
            traffic.messages(topics: env.topics), partitions: 4, timestampMs: WallClock.nowMs())
        // Partition p of each topic goes to a different processor than partition p of the next topic,
        // so a user's account snapshots and ledger rows are processed by different processors at once.
        let topics = env.topics.inputs
        let processorCount = 3
        var shares = Array(repeating: [InboundRecord](), count: processorCount)
        for record in records {
            let topicIndex = topics.firstIndex(of: record.topic) ?? 0
            shares[(Int(record.partition) + topicIndex) % processorCount].append(record)
        }
        let totals = try await env.withDatabase { database in
            _ = try await database.migrate()
            return try await withThrowingTaskGroup(of: BatchProcessor.Summary.self) { group in
                for share in shares {
                    let processor = BatchProcessor(client: database.client, settings: settings, logger: env.logger)
                    group.addTask {
                        var total = BatchProcessor.Summary()
                        var index = 0
                        while index < share.count {
                            let end = min(index + 40, share.count)
                            let summary = try await processor.process(Array(share[index..<end]))
                            total.applied += summary.applied
                            total.stateConflicts += summary.stateConflicts
                            index = end
                        }
                        return total
                    }
                }
                return try await group.reduce(into: BatchProcessor.Summary()) {
                    $0.applied += $1.applied
                    $0.stateConflicts += $1.stateConflicts
                }
            }
        }
        #expect(totals.stateConflicts > 0, "no batch met a state changed behind its cache")
        let applied = try await WorkerProbe.appliedByTopic(env)
        #expect(applied[env.topics.ledger] == Int64(traffic.ledger.count))
        let open = try await ClusterTests.settledOpenIssues(env, settings: settings)
        let expected = ClusterTests.oracle(traffic, settings: settings.checks)
        #expect(
            Set(open.keys) == Set(expected.keys),
            "only streamed: \(Set(open.keys).subtracting(expected.keys).sorted()), only oracle: \(Set(expected.keys).subtracting(open.keys).sorted())"
        )
        for (id, evidence) in expected where open[id] != nil {
            #expect(open[id] == evidence, "\(id)")
        }
    }

    @Test func aStateTheSweeperRewroteIsNotTakenFromTheCache() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let summaries = try await Self.webhookAfterTheSweeperRewroteItsEvent(driver: driver) { message in
                [try await driver.consume([message])]
            }
            #expect(summaries.map(\.stateConflicts) == [1])
        }
    }

    /// A purchase, then the sweeper opening its missing webhook record (with no access to the
    /// processor's cache, whose stripe event state is then one version behind), then the webhook
    /// record, which must resolve the issue. `consume` processes one message as one batch.
    static func webhookAfterTheSweeperRewroteItsEvent(
        driver: DatabaseDriver, consume: (OutboundMessage) async throws -> [BatchProcessor.Summary]
    ) async throws -> [BatchProcessor.Summary] {
        let topics = driver.settings.topics
        let row = LedgerRow(
            id: "row_1", userId: "user_1", seq: 1, type: .purchase, amount: 500, balanceAfter: 500,
            stripeEventId: "evt_1", stripePaymentIntentId: "pi_1", createdAtMs: driver.clock.now)
        _ = try await consume(
            OutboundMessage(topic: topics.ledger, key: Array("user_1".utf8), value: BillingJSON.ledger(row)))
        try await driver.settle()
        let issueId = CheckKind.missingIdempotencyRecord.issueId("evt_1")
        #expect(Set(try await driver.openIssues().map(\.issueId)).contains(issueId))
        let webhook = WebhookRecord(
            eventId: "evt_1", type: "payment_intent.succeeded", stripePaymentIntentId: "pi_1",
            processedAtMs: driver.clock.now)
        let summaries = try await consume(
            OutboundMessage(topic: topics.webhooks, key: Array("evt_1".utf8), value: BillingJSON.webhook(webhook)))
        #expect(summaries.map(\.applied) == [1])
        #expect(Set(try await driver.openIssues().map(\.issueId)).contains(issueId) == false)
        return summaries
    }
}
