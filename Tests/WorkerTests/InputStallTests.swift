import Foundation
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Input health through the mock cluster and a real PostgreSQL: a silent input shows as one
/// `input-stalled` issue instead of a storm of the checks that wait on it.
@Suite(.serialized) struct InputStallTests {
    // Long enough that a resumed input's records all arrive within it on a busy machine.
    static let settleMs: Int64 = 1500
    static let stallMs: Int64 = 3000
    static let users = (0..<10).map { "u\($0)" }

    static func ledger(_ user: String, seq: Int64, amount: Int64, balance: Int64, event: String? = nil, topics: Topics)
        -> OutboundMessage
    {
        let row = LedgerRow(
            id: "\(user)_\(seq)", userId: user, seq: seq, type: .adjustment, amount: amount, balanceAfter: balance,
            stripeEventId: event, createdAtMs: WallClock.nowMs())
        return OutboundMessage(topic: topics.ledger, key: Array(user.utf8), value: BillingJSON.ledger(row))
    }

    static func account(_ user: String, credits: Int64, version: Int64, topics: Topics) -> OutboundMessage {
        let snapshot = AccountSnapshot(
            userId: user, tier: .free, credits: credits, stripeCustomerId: "cus_\(user)", updatedAtMs: WallClock.nowMs(),
            version: version)
        return OutboundMessage(topic: topics.accounts, key: Array(user.utf8), value: BillingJSON.account(snapshot))
    }

    static func webhook(_ eventId: String, topics: Topics) -> OutboundMessage {
        let record = WebhookRecord(eventId: eventId, type: "invoice.paid", processedAtMs: WallClock.nowMs())
        return OutboundMessage(topic: topics.webhooks, key: Array(eventId.utf8), value: BillingJSON.webhook(record))
    }

    /// Every event the collector saw for issues of `check`, in order.
    static func events(_ collector: TopicCollector, _ env: WorkerTestEnvironment, check: CheckKind) -> [IssueEvent] {
        collector.decoded(IssueEvent.self, topic: env.topics.issues).filter { $0.check == check }
    }

    /// The stall scenario: `stop` makes one input silent while records waiting on it keep coming,
    /// then `resume` brings it back for every user but the last, whose issue must open then.
    func scenario(
        input: String, silentTopic: @Sendable (Topics) -> String, check: CheckKind, heldCheck: String,
        setup: @escaping @Sendable (Topics) -> [OutboundMessage],
        waiting: @escaping @Sendable (Topics) -> [OutboundMessage],
        resume: @escaping @Sendable (Topics) -> [OutboundMessage], missingIssue: String
    ) async throws {
        let env = try await WorkerTestEnvironment.make()
        let flowing = [env.topics.ledger, env.topics.accounts, env.topics.webhooks].filter { $0 != silentTopic(env.topics) }
        let configuration = env.nodeConfiguration(settleMs: Self.settleMs, stallMs: Self.stallMs)
        try await env.withCollector(heartbeatTopics: flowing) { collector in
            try await WorkerFleet.with(configuration: configuration, count: 1, logger: env.logger) { fleet in
                await fleet.start(0)
                let first = setup(env.topics)
                try await env.publish(first)
                // Consumed before the waiting records come (the silent topic carries no heartbeats).
                let silent = silentTopic(env.topics)
                let count = first.filter { $0.topic == silent }.count
                try await WorkerProbe.poll(env, timeout: .seconds(60), "the setup records") { connection in
                    let rows = try await connection.query(
                        """
                        SELECT coalesce(sum(next_offset), 0)::bigint FROM assurance.consumer_offsets
                        WHERE group_id = \(env.groupId) AND topic = \(silent)
                        """, logger: env.logger)
                    for try await value in rows.decode(Int64.self) { return value >= count }
                    return false
                }
                try await env.publish(waiting(env.topics))
                let stallId = "input-stalled:\(input)"
                let stalled = await collector.wait(timeout: .seconds(60)) { collector in
                    collector.latestIssues(topic: env.topics.issues)[stallId]?.status == .open
                }
                #expect(stalled, "\(stallId) did not open")
                // While stalled: the waiting checks are held, not opened, and the report says so.
                let report = try await env.withDatabase { database in
                    try await ReportQuery(client: database.client, settings: configuration.settings, logger: env.logger)
                        .report()
                }
                #expect(report.summary.heldChecks.contains(heldCheck), "\(report.summary.heldChecks)")
                #expect(Self.events(collector, env, check: check).isEmpty)
                let stall = collector.latestIssues(topic: env.topics.issues)[stallId]
                #expect(stall?.severity == .critical)
                #expect(stall?.category == .pipelineHealth)
                #expect(stall?.revenueImpacting == false)
                #expect(stall?.repair == nil)
                let alerted = await collector.wait(timeout: .seconds(30)) { collector in
                    collector.decoded(AlertEvent.self, topic: env.topics.alerts).contains { $0.issueIds.contains(stallId) }
                }
                #expect(alerted, "no alert named \(stallId)")

                try await env.publish(resume(env.topics))
                let healed = await collector.wait(timeout: .seconds(60)) { collector in
                    let latest = collector.latestIssues(topic: env.topics.issues)
                    return latest[stallId]?.status == .resolved && latest[missingIssue]?.status == .open
                }
                let latest = collector.latestIssues(topic: env.topics.issues)
                #expect(healed, "stall \(latest[stallId]?.status.rawValue ?? "none"), \(missingIssue) \(latest[missingIssue]?.status.rawValue ?? "none")")
                #expect(latest[stallId]?.resolution == .selfHealed)
                // Exactly one stall issue (opened once, resolved once) and exactly the one true issue.
                let stallEvents = collector.decoded(IssueEvent.self, topic: env.topics.issues).filter { $0.issueId == stallId }
                #expect(stallEvents.map(\.status) == [.open, .resolved])
                #expect(Set(Self.events(collector, env, check: check).map(\.issueId)) == [missingIssue])
                let otherStalls = collector.decoded(IssueEvent.self, topic: env.topics.issues).filter {
                    $0.check == .inputStalled && $0.issueId != stallId
                }
                #expect(otherStalls.isEmpty, "\(otherStalls.map(\.issueId))")
            }
        }
    }

    @Test func silentWebhooks_oneStallIssue_noWebhookMissingStorm_thenTheOneTrulyMissingRecordOpens() async throws {
        let users = Self.users
        try await scenario(
            input: "webhooks", silentTopic: { $0.webhooks }, check: .missingIdempotencyRecord,
            heldCheck: "missing_idempotency_record",
            setup: { [Self.webhook("evt_first", topics: $0)] },
            waiting: { topics in
                users.map { Self.ledger($0, seq: 1, amount: 5, balance: 5, event: "evt_\($0)", topics: topics) }
            },
            resume: { topics in users.dropLast().map { Self.webhook("evt_\($0)", topics: topics) } },
            missingIssue: "webhook-missing:evt_\(users.last!)")
    }

    @Test func silentAccounts_oneStallIssue_noBalanceStorm_thenTheOneTrueMismatchOpens() async throws {
        let users = Self.users
        try await scenario(
            input: "accounts", silentTopic: { $0.accounts }, check: .creditBalanceMismatch,
            heldCheck: "credit_balance_mismatch",
            setup: { topics in users.map { Self.account($0, credits: 0, version: 1, topics: topics) } },
            waiting: { topics in users.map { Self.ledger($0, seq: 1, amount: 5, balance: 5, topics: topics) } },
            resume: { topics in users.dropLast().map { Self.account($0, credits: 5, version: 2, topics: topics) } },
            missingIssue: "credit-balance:\(users.last!)")
    }

    @Test func silentLedger_oneStallIssue_noBalanceStorm_thenTheOneTrueMismatchOpens() async throws {
        let users = Self.users
        try await scenario(
            input: "ledger", silentTopic: { $0.ledger }, check: .creditBalanceMismatch,
            heldCheck: "credit_balance_mismatch",
            setup: { topics in
                users.map { Self.ledger($0, seq: 1, amount: 5, balance: 5, topics: topics) }
                    + users.map { Self.account($0, credits: 5, version: 1, topics: topics) }
            },
            waiting: { topics in users.map { Self.account($0, credits: 8, version: 2, topics: topics) } },
            resume: { topics in users.dropLast().map { Self.ledger($0, seq: 2, amount: 3, balance: 8, topics: topics) } },
            missingIssue: "credit-balance:\(users.last!)")
    }
}
