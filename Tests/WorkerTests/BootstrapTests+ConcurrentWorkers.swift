import Foundation
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Bootstrap while two `assure-worker run` processes consume the same rows from the topics.
extension BootstrapTests {
    /// The stored rows' last half of each user's ledger, and those rows' webhook records, as messages.
    static func tailMessages(_ traffic: BillingTraffic, topics: Topics) -> (ledger: [OutboundMessage], webhooks: [OutboundMessage]) {
        // The rows as the table holds them (the first of each id and of each user and seq).
        var ids = Set<String>()
        var seqs = Set<String>()
        let stored = traffic.ledger.filter { ids.insert($0.id).inserted && seqs.insert("\($0.userId)#\($0.seq)").inserted }
        var highest: [String: Int64] = [:]
        for row in stored { highest[row.userId] = max(highest[row.userId] ?? 0, row.seq) }
        let tail = stored.filter { $0.seq > highest[$0.userId]! / 2 }
        let events = Set(tail.compactMap(\.stripeEventId))
        return (
            tail.map { OutboundMessage(topic: topics.ledger, key: Array($0.userId.utf8), value: BillingJSON.ledger($0)) },
            traffic.webhooks.filter { events.contains($0.eventId) }.map {
                OutboundMessage(topic: topics.webhooks, key: Array($0.eventId.utf8), value: BillingJSON.webhook($0))
            }
        )
    }

    @Test func bootstrapWhileTwoWorkerProcessesConsume_endsLikeBootstrapAloneAndCountsEachRowOnce() async throws {
        let traffic = Self.traffic(users: 500, seed: 21)
        let reference = try await Self.database(with: traffic)
        try await Self.bootstrap(reference)
        let expected = try await Self.settled(reference)

        let env = try await Self.database(with: traffic)
        for topic in env.topics.all { try await env.cluster.createTestTopic(topic, partitions: 4) }
        let tail = Self.tailMessages(traffic, topics: env.topics)
        let first = Array(tail.ledger.prefix(tail.ledger.count / 2)) + tail.webhooks.prefix(tail.webhooks.count / 2)
        let second = Array(tail.ledger.dropFirst(tail.ledger.count / 2)) + tail.webhooks.dropFirst(tail.webhooks.count / 2)
        let workers = try (0..<2).map { _ in try ChildWorker(env: env, settleMs: 300) }
        for worker in workers { try worker.start() }

        // The workers apply the first half before bootstrap starts (rows above holes it fills later) …
        try await env.publish(first)
        try await WorkerProbe.waitForConsumption(env, count: first.count)
        #expect(workers.allSatisfy { $0.isRunning })
        // … and the second half while it reads the ledger (after the webhook records and the users), in
        // chunks of 50 rows, so both apply rows of the same users at the same time.
        let beforeLedger = try await Self.count(
            env, "SELECT ((SELECT count(*) FROM stripe_webhook_events) + (SELECT count(*) FROM users))::bigint")
        async let bootstrapped = Self.bootstrap(env, chunkSize: 50)
        try await WorkerProbe.poll(env, timeout: .seconds(120), "a committed bootstrap chunk of the ledger") { connection in
            let rows = try await connection.query(
                "SELECT coalesce(max(rows_read), 0) FROM assurance.bootstrap_runs", logger: env.logger)
            for try await value in rows.decode(Int64.self) { return value > beforeLedger }
            return false
        }
        try await env.publish(second)
        let unfinished = try await Self.count(env, "SELECT count(*) FROM assurance.bootstrap_runs WHERE finished_at IS NULL")
        #expect(unfinished == 1, "the bootstrap finished before the second half was published")
        let summary = try await bootstrapped
        try await WorkerProbe.waitForConsumption(env, count: first.count + second.count)
        #expect(workers.allSatisfy { $0.isRunning })
        for worker in workers { await worker.terminate() }

        // Every row counted once: by the stream or by the bootstrap, never by both.
        let streamed = try await WorkerProbe.appliedByTopic(env)
        let ledgerRows = try await Self.count(env, "SELECT count(*) FROM credit_transactions WHERE seq >= 1")
        let webhookRows = try await Self.count(env, "SELECT count(*) FROM stripe_webhook_events")
        let streamedLedger = streamed[env.topics.ledger] ?? 0
        #expect(streamedLedger >= Int64(tail.ledger.count / 2), "the first half was applied by the stream")
        #expect(streamedLedger + summary.applied.ledger == ledgerRows)
        #expect((streamed[env.topics.webhooks] ?? 0) + summary.applied.webhooks == webhookRows)
        #expect(summary.applied.users == (try await Self.count(env, "SELECT count(*) FROM users")))

        // The same open issues, with the same evidence, as bootstrap alone; the oracle agrees.
        let open = try await Self.settled(env)
        #expect(
            Set(open.keys) == Set(expected.keys),
            "only here: \(Set(open.keys).subtracting(expected.keys).sorted()), only alone: \(Set(expected.keys).subtracting(open.keys).sorted())"
        )
        for (id, evidence) in expected where open[id] != nil { #expect(open[id] == evidence, "\(id)") }
        let audit = try await Self.audit(env)
        #expect(audit.isClean, "\(audit.differences.prefix(10))")
        #expect(audit.oracleIssues > 20)
        #expect(audit.streamingIssues == audit.oracleIssues)
    }

    /// Chunks are applied two at a time; a user whose ledger is longer than a chunk still commits in
    /// seq order, so tiny chunks end in the state of large ones and open no passing issue.
    @Test func bootstrapInChunksSmallerThanAUsersLedger_endsLikeOneInLargeChunks() async throws {
        let traffic = Self.traffic(users: 120, seed: 9)
        let reference = try await Self.database(with: traffic)
        try await Self.bootstrap(reference, chunkSize: 100_000)
        let expected = try await Self.settled(reference)
        let expectedEvents = try await Self.count(reference, "SELECT count(*) FROM assurance.outbox")
        let referenceEvents = try await Self.issueEvents(reference)

        let env = try await Self.database(with: traffic)
        let summary = try await Self.bootstrap(env, chunkSize: 3)
        #expect(summary.applied.ledger == (try await Self.count(env, "SELECT count(*) FROM credit_transactions WHERE seq >= 1")))
        #expect(try await Self.settled(env) == expected)
        let events = try await Self.issueEvents(env)
        #expect(
            try await Self.count(env, "SELECT count(*) FROM assurance.outbox") == expectedEvents,
            "issue events that differ (chunks of 3 | chunks of 100 000): \(Self.differences(events, referenceEvents))")
        #expect(!expected.isEmpty)
        let audit = try await Self.audit(env)
        #expect(audit.isClean, "\(audit.differences.prefix(10))")
    }

    /// A user's ledger over several chunks is applied at one processing time, so a machine so slow that
    /// the settle time passes between any two chunks still opens no passing issue on half a ledger
    /// (the account's final credits against a middle row's balance).
    @Test func userLongerThanAChunk_onAMachineSlowerThanTheSettleTime_opensNoPassingIssue() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let now = driver.clock.now
            let ledger = (1...8).map { (seq: Int64) in
                LedgerRow(
                    id: "long_\(seq)", userId: "long", seq: seq, type: .adjustment, amount: 100, balanceAfter: seq * 100,
                    createdAtMs: now - (10 - seq) * 60_000)
            }
            let account = AccountSnapshot(userId: "long", tier: .free, credits: 800, updatedAtMs: now - 60_000, version: 1)
            try await driver.database.client.withConnection { connection in
                try await BillingTables.insertUsers([account], on: connection, logger: driver.env.logger)
                try await BillingTables.insertLedger(ledger, on: connection, logger: driver.env.logger)
            }
            // Every reading of the clock is more than a settle time after the one before.
            let slow = TestClock(now: now)
            let settle = driver.settings.checks.settleMs
            let processor = BatchProcessor(
                client: driver.database.client, settings: driver.settings, logger: driver.env.logger,
                clock: { slow.advance(by: settle + 1); return slow.now })
            let summary = try await Bootstrap(processor: processor, logger: driver.env.logger, chunkSize: 3, report: { _ in })
                .run()
            #expect(summary.applied.ledger == 8)
            let events = try await driver.outbox(topic: driver.settings.topics.issues)
                .map { String(decoding: $0.value ?? [], as: UTF8.self) }
            #expect(events.isEmpty)
            try await driver.settle()
            #expect(try await driver.openIssues().isEmpty)
        }
    }

    /// Each issue's events in the outbox, in order, as "v<version> <status> <cause> lastSeen=<time>".
    static func issueEvents(_ env: WorkerTestEnvironment) async throws -> [String: [String]] {
        try await env.withDatabase { database in
            let rows = try await database.client.query(
                """
                SELECT e->>'issueId', format('v%s %s %s first=%s last=%s resolved=%s %s', e->>'version', e->>'status',
                  e->'cause', e->>'firstSeenAt', e->>'lastSeenAt', e->>'resolvedAt', e->>'evidence')
                FROM (SELECT id, convert_from(payload, 'UTF8')::jsonb AS e FROM assurance.outbox) o
                WHERE e ? 'issueId' ORDER BY id
                """)
            var events: [String: [String]] = [:]
            for try await (id, event) in rows.decode((String, String).self) { events[id, default: []].append(event) }
            return events
        }
    }

    /// The issues whose events differ, with both lists.
    static func differences(_ mine: [String: [String]], _ theirs: [String: [String]]) -> String {
        let strip: (String) -> String = { $0.replacingOccurrences(of: #" first=\S* last=\S* resolved=\S*"#, with: "", options: .regularExpression) }
        return Set(mine.keys).union(theirs.keys).sorted()
            .filter { (mine[$0] ?? []).map(strip) != (theirs[$0] ?? []).map(strip) }
            .map { "\n\($0):\n  \(mine[$0] ?? [])\n  \(theirs[$0] ?? [])" }
            .joined()
    }
}
