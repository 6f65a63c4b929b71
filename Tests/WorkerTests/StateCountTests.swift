import CheckPipeline
import Foundation
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The report's counts over the entity states (users, unmapped Stripe customers) are kept by the
/// states' writers, one delta per transaction on a counter shard (migration 9). Whatever writes the
/// states, the counters' sum must equal a scan of them (`StateCountRepository.scan`, the oracle),
/// and a transaction that rolls back must leave the counters as they were.
@Suite struct StateCountTests {
    /// The counters' sum, after checking it against a scan of the states.
    @discardableResult
    static func expectCountsMatchAScan(_ driver: DatabaseDriver, _ when: String) async throws -> StateCounts {
        let logger = driver.env.logger
        let (kept, scanned) = try await driver.database.client.withConnection { connection in
            (
                try await StateCountRepository.totals(on: connection, logger: logger),
                try await StateCountRepository.scan(on: connection, logger: logger)
            )
        }
        #expect(kept == scanned, "\(when): kept \(kept), scanned \(scanned)")
        return kept
    }

    static func stripe(_ id: String, customer: String, topics: Topics, nowMs: Int64) -> OutboundMessage {
        let event = StripeEvent(
            id: id, type: .subscriptionCreated, createdMs: nowMs - 10_000, customerId: customer,
            objectId: "sub_" + customer, status: "active")
        return OutboundMessage(topic: topics.stripe, key: Array(customer.utf8), value: BillingJSON.stripe(event))
    }

    static func account(_ user: String, customer: String?, version: Int64, topics: Topics, nowMs: Int64) -> OutboundMessage {
        let snapshot = AccountSnapshot(
            userId: user, tier: .pro, credits: 0, stripeCustomerId: customer, subscriptionStatus: "active",
            updatedAtMs: nowMs - 5_000 + version, version: version)
        return OutboundMessage(topic: topics.accounts, key: Array(user.utf8), value: BillingJSON.account(snapshot))
    }

    static func ledger(_ user: String, topics: Topics, nowMs: Int64) -> OutboundMessage {
        let row = LedgerRow(
            id: "ctx_\(user)", userId: user, seq: 1, type: .usage, amount: -1, balanceAfter: 9, createdAtMs: nowMs - 1_000)
        return OutboundMessage(topic: topics.ledger, key: Array(user.utf8), value: BillingJSON.ledger(row))
    }

    /// Runs `batches` through a `BatchPipeline` over `processor` (the worker's way: each batch
    /// prepared on the cache while the one before commits).
    static func pipe(_ batches: [[InboundRecord]], processor: BatchProcessor, driver: DatabaseDriver) async throws
        -> BatchProcessor.Summary
    {
        let committed = BatchPipelineTests.Committed()
        try await withThrowingTaskGroup(of: Bool.self) { commits in
            var pipeline = BatchPipeline(
                processor: processor, committed: { committed.append($0) })
            for batch in batches { try await pipeline.submit(batch, commits: &commits) }
            try await pipeline.drain(commits: &commits)
        }
        return committed.all.reduce(into: BatchProcessor.Summary()) { $0 += $1 }
    }

    @Test func countersEqualAScanThroughConflictsRedosRefusalsSweepsABootstrapAndRepairs() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let topics = driver.settings.topics
            let now = driver.clock.now
            let logger = driver.env.logger
            try await PoisonIsolationTests.installRefusals(driver)
            let traffic = BillingTraffic.generate(
                .init(users: 150, eventsPerUser: 12, seed: 23, endMs: now, faultEvery: 11))
            let messages = traffic.messages(topics: topics)
            let half = messages.count / 2

            // 1. The first half by three processors at once, each with its own cache, two of them
            // pipelined: partition p of each topic goes to another processor than partition p of the
            // next, so a user's snapshots and ledger rows are written concurrently (conflicts, redos).
            // Partitions 1 to 4: the driver's own batches below use partition 0.
            let records = BillingTraffic.inboundRecords(Array(messages[..<half]), partitions: 4, timestampMs: now)
                .map {
                    InboundRecord(
                        topic: $0.topic, partition: $0.partition + 1, offset: $0.offset, key: $0.key, value: $0.value)
                }
            var shares = Array(repeating: [InboundRecord](), count: 3)
            for record in records {
                let topicIndex = topics.inputs.firstIndex(of: record.topic) ?? 0
                shares[(Int(record.partition) + topicIndex) % 3].append(record)
            }
            let clock = driver.clock
            let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, share) in shares.enumerated() {
                    let processor = BatchProcessor(
                        client: driver.database.client, settings: driver.settings, logger: logger, clock: { clock.now })
                    let batches = stride(from: 0, to: share.count, by: 40).map { Array(share[$0..<min($0 + 40, share.count)]) }
                    group.addTask {
                        if index == 0 {
                            var conflicts = 0
                            for batch in batches { conflicts += try await processor.process(batch).stateConflicts }
                            return conflicts
                        }
                        return try await Self.pipe(batches, processor: processor, driver: driver).stateConflicts
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(conflicts > 0, "no batch met a state changed behind its cache")
            var counts = try await Self.expectCountsMatchAScan(driver, "after the concurrent first half")
            #expect(counts.users > 0)

            // 2. Customers nobody names; one gains a user, a user moves to another one, and batches the
            // database refuses (isolated and dead-lettered) or fails once (redone).
            try await driver.consume([
                Self.stripe("evt_x1", customer: "cus_x", topics: topics, nowMs: now),
                Self.stripe("evt_y1", customer: "cus_y", topics: topics, nowMs: now),
                Self.stripe("evt_z1", customer: "cus_z", topics: topics, nowMs: now),
                Self.ledger("flaky_1", topics: topics, nowMs: now),
            ])
            let unnamed = try await Self.expectCountsMatchAScan(driver, "after three unnamed customers")
            #expect(unnamed.unmappedStripeCustomers >= counts.unmappedStripeCustomers + 3)
            let refused = try await driver.consume([
                Self.account("u_x", customer: "cus_x", version: 1, topics: topics, nowMs: now),
                Self.ledger("poison_1", topics: topics, nowMs: now),
                Self.ledger("new_1", topics: topics, nowMs: now),
            ])
            #expect(refused.deadLetters == 1)
            counts = try await Self.expectCountsMatchAScan(driver, "after cus_x gained a user and a refusal")
            #expect(counts.unmappedStripeCustomers == unnamed.unmappedStripeCustomers - 1)
            #expect(counts.users == unnamed.users + 2)
            try await driver.consume([Self.account("u_x", customer: "cus_y", version: 2, topics: topics, nowMs: now)])
            try await Self.expectCountsMatchAScan(driver, "after u_x moved to cus_y")

            // 3. A bootstrap of the billing tables (the whole traffic) while a processor streams the
            // second half: bootstrap chunks and batches change the same states.
            // A user only bootstrap knows, and one only the stream names.
            let bootOnly = AccountSnapshot(userId: "boot_only", tier: .free, credits: 0, updatedAtMs: now - 1_000, version: 1)
            try await driver.database.client.withConnection { connection in
                try await BillingTables.insert(traffic, on: connection, logger: logger)
                try await BillingTables.insertUsers([bootOnly], on: connection, logger: logger)
            }
            let rest = BillingTraffic.inboundRecords(
                Array(messages[half...]) + [Self.ledger("stream_only", topics: topics, nowMs: now)], partitions: 1,
                timestampMs: now)
                .map {
                    InboundRecord(topic: $0.topic, partition: 5, offset: $0.offset, key: $0.key, value: $0.value)
                }
            let streamer = BatchProcessor(
                client: driver.database.client, settings: driver.settings, logger: logger, clock: { clock.now })
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Bootstrap(processor: driver.processor, logger: logger, chunkSize: 150, report: { _ in }).run()
                }
                group.addTask {
                    let batches = stride(from: 0, to: rest.count, by: 60).map { Array(rest[$0..<min($0 + 60, rest.count)]) }
                    _ = try await Self.pipe(batches, processor: streamer, driver: driver)
                }
                try await group.waitForAll()
            }
            counts = try await Self.expectCountsMatchAScan(driver, "after the bootstrap and the second half")
            #expect(counts.users >= Int64(Set(traffic.ledger.map(\.userId) + traffic.users.map(\.userId)).count))

            // 4. The sweeper, then a repair of every repairable open issue, then the sweeper again.
            try await driver.settle()
            try await Self.expectCountsMatchAScan(driver, "after the sweeper")
            let repairable = try await driver.openIssues().filter { $0.repair != nil }
            #expect(!repairable.isEmpty)
            for issue in repairable {
                _ = try await driver.command(driver.signed(issueId: issue.issueId))
            }
            try await Self.expectCountsMatchAScan(driver, "after the repairs")
            try await driver.settle()
            try await Self.expectCountsMatchAScan(driver, "after the last sweep")

            // Batches counted on the shards of their partitions, the others on the shared one.
            let shards = Set(try await driver.column("SELECT shard FROM assurance.state_counts", as: Int32.self))
            #expect(shards.isSuperset(of: [-1, 0, 5]), "\(shards.sorted())")
            #expect(!shards.isDisjoint(with: [1, 2, 3, 4]), "\(shards.sorted())")
        }
    }

    /// A deferred trigger refuses the states of users starting with `doomed` at commit: after the
    /// counter update ran in the same transaction.
    static func installCommitRefusal(_ driver: DatabaseDriver) async throws {
        for statement in [
            """
            CREATE FUNCTION assurance.test_refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.key LIKE 'user:doomed%' AND length(NEW.state) > 0 THEN
                    RAISE EXCEPTION 'test refuses % at commit', NEW.key USING ERRCODE = '22023';
                END IF;
                RETURN NULL;
            END $$
            """,
            """
            CREATE CONSTRAINT TRIGGER test_refuse_at_commit AFTER INSERT OR UPDATE ON assurance.entity_state
            DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION assurance.test_refuse_at_commit()
            """,
        ] {
            try await driver.database.client.query(PostgresQuery(unsafeSQL: statement))
        }
    }

    @Test func aBatchRolledBackAtCommitLeavesTheCountersAsTheyWere() async throws {
        try await DatabaseDriver.with { driver in
            let topics = driver.settings.topics
            let now = driver.clock.now
            try await driver.consume([
                Self.ledger("alive_1", topics: topics, nowMs: now),
                Self.stripe("evt_a1", customer: "cus_a", topics: topics, nowMs: now),
            ])
            let before = try await Self.expectCountsMatchAScan(driver, "before")
            #expect(before == StateCounts(users: 1, unmappedStripeCustomers: 1))
            try await Self.installCommitRefusal(driver)

            // A new user (users +1) naming the unmapped customer (unmapped −1): counted, then refused at commit.
            let summary = try await driver.consume([Self.account("doomed_1", customer: "cus_a", version: 1, topics: topics, nowMs: now)])
            #expect(summary.deadLetters == 1)
            #expect(summary.applied == 0)
            #expect(try await Self.expectCountsMatchAScan(driver, "after the refused batch") == before)

            // Around it, the rest of a batch commits, counted once.
            let mixed = try await driver.consume([
                Self.ledger("alive_2", topics: topics, nowMs: now),
                Self.account("doomed_2", customer: "cus_a", version: 1, topics: topics, nowMs: now),
                Self.stripe("evt_b1", customer: "cus_b", topics: topics, nowMs: now),
            ])
            #expect(mixed.deadLetters == 1)
            let after = try await Self.expectCountsMatchAScan(driver, "after the mixed batch")
            #expect(after == StateCounts(users: 2, unmappedStripeCustomers: 2))
        }
    }

    @Test func aRecountAfterWritersThatDidNotCountStartsFromAScan() async throws {
        try await DatabaseDriver.with { driver in
            let topics = driver.settings.topics
            let now = driver.clock.now
            let traffic = BillingTraffic.generate(.init(users: 40, eventsPerUser: 5, seed: 31, endMs: now))
            try await driver.consume(traffic.messages(topics: topics))
            try await driver.consume([Self.stripe("evt_o1", customer: "cus_o", topics: topics, nowMs: now)])
            let counted = try await Self.expectCountsMatchAScan(driver, "after the traffic")
            #expect(counted.users == Int64(Set(traffic.ledger.map(\.userId) + traffic.users.map(\.userId)).count))
            #expect(counted.unmappedStripeCustomers >= 1)

            // As if workers of an earlier version had written every state without counting.
            try await driver.database.client.query("DELETE FROM assurance.state_counts")
            let recount = try await driver.database.recountStates()
            #expect(recount.before == StateCounts())
            #expect(recount.after == counted)
            try await Self.expectCountsMatchAScan(driver, "after the recount")

            // The writers go on from the recount.
            try await driver.consume([Self.ledger("later_1", topics: topics, nowMs: now)])
            let later = try await Self.expectCountsMatchAScan(driver, "after a batch on top of the recount")
            #expect(later.users == counted.users + 1)

            // The operator's way: `assure-worker migrate --recount`.
            try await driver.database.client.query("UPDATE assurance.state_counts SET value = value + 5")
            let (status, output) = try await ChildWorker.run(
                try ChildWorker.executableURL(), ["migrate", "--recount", "--database-url", driver.env.database.url])
            #expect(status == 0, "\(output)")
            #expect(output.contains("recounted: users \(later.users + 5) -> \(later.users),"), "\(output)")
            #expect(try await Self.expectCountsMatchAScan(driver, "after migrate --recount") == later)
        }
    }

    @Test func migration9OverExistingStatesStartsFromAScanAndDropsMigration8sTriggers() async throws {
        try await PostgresTestServer.withFreshDatabase(migrate: false) { database in
            let logger = database.logger
            _ = try await database.migrate(Migrations.all.filter { $0.version < Migrations.stateCounts.version })
            // States as an earlier version left them: users (one an empty placeholder), Stripe customers
            // with and without users (the byte at the user count), and migration 8's counter trigger.
            let offset = EntityState.stripeCustomerUsersByteOffset
            func customer(users: UInt8) -> [UInt8] { Array(repeating: 9, count: offset) + [users, 3, 1] }
            let rows: [(String, String, [UInt8])] = [
                ("user:a", "user", [2, 0, 1]), ("user:b", "user", [2, 0, 7, 7]), ("user:empty", "user", []),
                ("stripe_customer:c1", "stripe_customer", customer(users: 0)),
                ("stripe_customer:c2", "stripe_customer", customer(users: 0)),
                ("stripe_customer:c3", "stripe_customer", customer(users: 2)),
                ("invoice:i1", "invoice", [2, 2, 0, 0]),
            ]
            for (key, kind, state) in rows {
                try await database.client.query(
                    "INSERT INTO assurance.entity_state (key, kind, state) VALUES (\(key), \(kind), \(ByteBuffer(bytes: state)))",
                    logger: logger)
            }
            for statement in [
                "CREATE TABLE assurance.entity_state_counts (category text, shard int, n bigint, PRIMARY KEY (category, shard))",
                """
                CREATE FUNCTION assurance.count_entity_state_recategorized() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RETURN NULL; END $$
                """,
                """
                CREATE TRIGGER entity_state_counts_update AFTER UPDATE ON assurance.entity_state
                FOR EACH ROW EXECUTE FUNCTION assurance.count_entity_state_recategorized()
                """,
            ] {
                try await database.client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }

            let report = try await database.migrate()
            #expect(report.applied.map(\.version) == [Migrations.stateCounts.version])
            let (kept, scanned) = try await database.client.withConnection { connection in
                (
                    try await StateCountRepository.totals(on: connection, logger: logger),
                    try await StateCountRepository.scan(on: connection, logger: logger)
                )
            }
            #expect(kept == StateCounts(users: 2, unmappedStripeCustomers: 2))
            #expect(scanned == kept)
            let leftovers = try await database.client.query(
                """
                SELECT (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'entity_state_counts%')
                  + (SELECT count(*) FROM pg_class WHERE relname = 'entity_state_counts')
                """, logger: logger
            ).collect().first?.decode(Int64.self)
            #expect(leftovers == 0)
        }
    }
}
