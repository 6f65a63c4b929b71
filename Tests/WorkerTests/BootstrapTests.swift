import Foundation
import Synchronization
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// `assure-worker bootstrap` against a real PostgreSQL (and the mock cluster for the stream after it).
@Suite(.serialized) struct BootstrapTests {
    static func traffic(users: Int, seed: UInt64 = 16) -> BillingTraffic {
        BillingTraffic.generate(.init(users: users, eventsPerUser: 10, seed: seed, endMs: WallClock.nowMs(), faultEvery: 13))
    }

    /// A fresh database holding `traffic` in the billing tables (migrated, no topics).
    static func database(with traffic: BillingTraffic) async throws -> WorkerTestEnvironment {
        let env = try await WorkerTestEnvironment.make(createTopics: false)
        try await env.withDatabase { database in
            _ = try await database.migrate()
            try await database.client.withConnection { connection in
                try await BillingTables.insert(traffic, on: connection, logger: env.logger)
            }
        }
        return env
    }

    /// Runs bootstrap in this process.
    @discardableResult
    static func bootstrap(_ env: WorkerTestEnvironment, chunkSize: Int = 2000) async throws -> Bootstrap.Summary {
        let lines = LineLog()
        let summary = try await env.withDatabase { database in
            let settings = env.settings()
            let processor = BatchProcessor(client: database.client, settings: settings, logger: env.logger)
            return try await Bootstrap(
                processor: processor, logger: env.logger, chunkSize: chunkSize, report: { lines.append($0) }
            ).run()
        }
        #expect(lines.all.last?.hasPrefix("bootstrap: done: \(summary.rowsRead) rows") == true, "\(lines.all.last ?? "")")
        return summary
    }

    /// Open issues (id → evidence) once everything has settled.
    static func settled(_ env: WorkerTestEnvironment) async throws -> [String: JSONValue] {
        try await ClusterTests.settledOpenIssues(env, settings: env.settings())
    }

    static func audit(_ env: WorkerTestEnvironment) async throws -> AuditRunner.Report {
        try await env.withDatabase { database in
            try await AuditRunner(client: database.client, settings: env.settings(), logger: env.logger).run()
        }
    }

    static func count(_ env: WorkerTestEnvironment, _ sql: PostgresQuery) async throws -> Int64 {
        try await env.withDatabase { database in
            for try await value in try await database.client.query(sql).decode(Int64.self) { return value }
            return 0
        }
    }

    @Test func bootstrapThenStreamingTheLastTenth_endsWithTheOraclesIssuesOverTheWholeDatabase() async throws {
        let traffic = Self.traffic(users: 2000)
        let env = try await Self.database(with: traffic)
        for topic in env.topics.all { try await env.cluster.createTestTopic(topic, partitions: 4) }
        let summary = try await Self.bootstrap(env)
        let tableRows = try await Self.count(
            env,
            """
            SELECT ((SELECT count(*) FROM users) + (SELECT count(*) FROM credit_transactions)
              + (SELECT count(*) FROM stripe_webhook_events))::bigint
            """)
        let ledgerRows = try await Self.count(env, "SELECT count(*) FROM credit_transactions WHERE seq >= 1")
        #expect(summary.rowsRead == tableRows)
        #expect(summary.applied.ledger == ledgerRows)

        // Only the last tenth of each user's ledger (and those rows' webhook records) is on the topics:
        // the rows as the table holds them (the first of each id and of each user and seq).
        var ids = Set<String>()
        var seqs = Set<String>()
        let stored = traffic.ledger.filter { ids.insert($0.id).inserted && seqs.insert("\($0.userId)#\($0.seq)").inserted }
        var highest: [String: Int64] = [:]
        for row in stored { highest[row.userId] = max(highest[row.userId] ?? 0, row.seq) }
        let tail = stored.filter { $0.seq > highest[$0.userId]! - max(1, highest[$0.userId]! / 10) }
        let tailEvents = Set(tail.compactMap(\.stripeEventId))
        let messages =
            tail.map { OutboundMessage(topic: env.topics.ledger, key: Array($0.userId.utf8), value: BillingJSON.ledger($0)) }
            + traffic.webhooks.filter { tailEvents.contains($0.eventId) }.map {
                OutboundMessage(topic: env.topics.webhooks, key: Array($0.eventId.utf8), value: BillingJSON.webhook($0))
            }
        let outboxBefore = try await Self.count(env, "SELECT count(*) FROM assurance.outbox")
        try await env.withCollector { _ in
            try await WorkerFleet.with(configuration: env.nodeConfiguration(), count: 1, logger: env.logger) { fleet in
                await fleet.start(0)
                try await env.publish(messages)
                try await WorkerProbe.waitForConsumption(env, count: messages.count)
            }
        }
        // The overlap counted once: the stream applied nothing and opened nothing.
        let applied = try await WorkerProbe.appliedByTopic(env)
        #expect((applied[env.topics.ledger] ?? 0) == 0)
        #expect((applied[env.topics.webhooks] ?? 0) == 0)
        _ = try await Self.settled(env)
        let audit = try await Self.audit(env)
        #expect(audit.isClean, "\(audit.differences.prefix(10))")
        #expect(audit.oracleIssues > 100)
        #expect(audit.streamingIssues == audit.oracleIssues)
        let outboxAfter = try await Self.count(env, "SELECT count(*) FROM assurance.outbox")
        #expect(outboxAfter >= outboxBefore)
        // The report counts the bootstrap's rows and shows the run.
        let report = try await env.withDatabase { database in
            try await ReportQuery(client: database.client, settings: env.settings(), logger: env.logger).report()
        }
        #expect(report.summary.ledgerRows == ledgerRows)
        #expect(report.summary.bootstrap.run?.rows == summary.rowsRead)
    }

    @Test func bootstrapRunTwice_changesNothingTheSecondTime() async throws {
        let env = try await Self.database(with: Self.traffic(users: 300, seed: 3))
        try await Self.bootstrap(env)
        let first = try await Self.settled(env)
        let states = try await WorkerProbe.entityStateDigest(env)
        let events = try await Self.count(env, "SELECT count(*) FROM assurance.outbox")
        let second = try await Self.bootstrap(env)
        #expect(second.applied == BootstrapRunRepository.Applied(users: 0, ledger: 0, webhooks: 0))
        #expect(try await Self.settled(env) == first)
        #expect(try await WorkerProbe.entityStateDigest(env) == states)
        #expect(try await Self.count(env, "SELECT count(*) FROM assurance.outbox") == events)
        #expect(!first.isEmpty)
    }

    @Test func bootstrapKilledMidwayThenRunAgain_endsLikeAnUninterruptedOne() async throws {
        let traffic = Self.traffic(users: 1500, seed: 5)
        let reference = try await Self.database(with: traffic)
        try await Self.bootstrap(reference)
        let expected = try await Self.settled(reference)

        let env = try await Self.database(with: traffic)
        let child = try ChildWorker(env: env, settleMs: 300)
        try child.start(["bootstrap", "--chunk-size", "50"])
        try await WorkerProbe.poll(env, timeout: .seconds(120), "a committed bootstrap chunk") { connection in
            let rows = try await connection.query(
                "SELECT coalesce(max(rows_read), 0) FROM assurance.bootstrap_runs", logger: env.logger)
            for try await value in rows.decode(Int64.self) { return value > 0 }
            return false
        }
        await child.kill()
        let unfinished = try await Self.count(env, "SELECT count(*) FROM assurance.bootstrap_runs WHERE finished_at IS NULL")
        #expect(unfinished == 1, "the bootstrap finished before it could be killed")
        let rerun = try await child.runCommand(["bootstrap"])
        #expect(rerun.status == 0, "\(rerun.output)")
        #expect(rerun.output.contains("bootstrap: done:"))
        #expect(try await Self.settled(env) == expected)
        let applied = try await Self.count(env, "SELECT sum(ledger_applied)::bigint FROM assurance.bootstrap_runs")
        #expect(applied == (try await Self.count(env, "SELECT count(*) FROM credit_transactions WHERE seq >= 1")))
    }

    @Test func churnedUser_oldPaidGrantsAreNotJudged_butAGrantFromTheTopicForAFreeUserOpens() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let now = WallClock.nowMs()
            var rows: [LedgerRow] = []
            for month in 1...12 {
                rows.append(
                    LedgerRow(
                        id: "grant_\(month)", userId: "churned", seq: Int64(month), type: .subscriptionGrant,
                        amount: 1000, balanceAfter: Int64(month) * 1000, stripeInvoiceId: "in_\(month)",
                        createdAtMs: now - Int64(14 - month) * 30 * 86_400_000))
            }
            let account = AccountSnapshot(
                userId: "churned", tier: .free, credits: 12_000, stripeCustomerId: "cus_churned",
                subscriptionStatus: "canceled", updatedAtMs: now - 86_400_000, version: 3)
            try await driver.database.client.withConnection { connection in
                try await BillingTables.insertUsers([account], on: connection, logger: driver.env.logger)
                try await BillingTables.insertLedger(rows, on: connection, logger: driver.env.logger)
            }
            let lines = LineLog()
            try await Bootstrap(processor: driver.processor, logger: driver.env.logger, report: { lines.append($0) }).run()
            try await driver.settle()
            #expect(try await driver.openIssues().filter { $0.check == .freeUserSubscriptionGrant }.isEmpty)
            // The oracle agrees.
            let audit = try await AuditRunner(
                client: driver.database.client, settings: driver.settings, logger: driver.env.logger
            ).run()
            #expect(audit.isClean, "\(audit.differences)")

            // A grant for the FREE user delivered by the topic is judged.
            let fresh = LedgerRow(
                id: "grant_13", userId: "churned", seq: 13, type: .subscriptionGrant, amount: 1000,
                balanceAfter: 13_000, stripeInvoiceId: "in_13", createdAtMs: now)
            try await driver.consume([
                OutboundMessage(topic: driver.env.topics.ledger, key: Array("churned".utf8), value: BillingJSON.ledger(fresh))
            ])
            try await driver.settle()
            let open = try await driver.openIssues().map(\.issueId)
            #expect(open.contains("free-subscription-grant:grant_13"), "\(open)")
            #expect(open.filter { $0.hasPrefix("free-subscription-grant:") } == ["free-subscription-grant:grant_13"])
        }
    }

    /// A users row naming a Stripe customer whose events the topic delivered before: bootstrap reads the
    /// customer's state, and the one the user leaves, as the consumed path does, so the Stripe checks
    /// apply to the bootstrapped user and leave the old customer.
    @Test func bootstrappedUserNamingACustomerSeenOnTheTopic_getsTheStripeChecks() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let now = driver.clock.now
            let topics = driver.settings.topics
            let active = StripeEvent(
                id: "evt_boot_sub", type: .subscriptionCreated, createdMs: now - 60_000, customerId: "cus_boot",
                objectId: "sub_boot", status: "active")
            let paid = StripeEvent(
                id: "evt_boot_inv", type: .invoicePaid, createdMs: now - 50_000, customerId: "cus_boot",
                objectId: "in_boot", subscriptionId: "sub_boot", billingReason: "subscription_create",
                amountPaid: 4900, currency: "usd")
            // The user named another customer, whose invoice waits for its grant.
            let before = AccountSnapshot(
                userId: "u_boot", tier: .pro, credits: 0, stripeCustomerId: "cus_old", subscriptionStatus: "active",
                updatedAtMs: now - 70_000, version: 1)
            let oldPaid = StripeEvent(
                id: "evt_old_inv", type: .invoicePaid, createdMs: now - 65_000, customerId: "cus_old",
                objectId: "in_old", subscriptionId: "sub_old", billingReason: "subscription_cycle", amountPaid: 900,
                currency: "usd")
            try await driver.consume([
                StripeEndToEndTests.account(before, topics: topics), StripeEndToEndTests.stripe(oldPaid, topics: topics),
                StripeEndToEndTests.stripe(active, topics: topics), StripeEndToEndTests.stripe(paid, topics: topics),
            ])
            try await driver.settle()
            #expect(try await driver.openIssues().map(\.issueId) == ["invoice-without-grant:in_old"])
            // The users table has the user on the new customer (a later version than the topic's).
            let account = AccountSnapshot(
                userId: "u_boot", tier: .free, credits: 0, stripeCustomerId: "cus_boot", updatedAtMs: now - 40_000,
                version: 2)
            try await driver.database.client.withConnection { connection in
                try await BillingTables.insertUsers([account], on: connection, logger: driver.env.logger)
            }
            try await Bootstrap(processor: driver.processor, logger: driver.env.logger, report: { _ in }).run()
            try await driver.settle()
            let open = try await driver.openIssues().map(\.issueId).sorted()
            #expect(open == ["invoice-without-grant:in_boot", "stripe-paid-local-free:u_boot"], "\(open)")
            #expect(try await driver.issue("invoice-without-grant:in_boot")?.userId == "u_boot")
            // The customer it left (a key only its state names) no longer belongs to a user.
            #expect(try await driver.issue("invoice-without-grant:in_old")?.status == .resolved)
            let audit = try await AuditRunner(
                client: driver.database.client, settings: driver.settings, logger: driver.env.logger
            ).run()
            #expect(audit.isClean, "\(audit.differences)")
        }
    }
}

/// Lines a bootstrap reported, collected across tasks.
final class LineLog: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}
