import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The report's counts come from counters that triggers on `entity_state` keep (migration 8); they
/// must always equal a scan of the states, through inserts, placeholder rows gaining their state,
/// customers gaining and losing their users, and a migration over a table that already holds rows.
@Suite struct EntityStateCountTests {
    static let scanUsers: PostgresQuery =
        "SELECT count(*) FROM assurance.entity_state WHERE kind = 'user' AND length(state) > 0"
    static let scanUnmapped: PostgresQuery = """
        SELECT count(*) FROM assurance.entity_state WHERE kind = 'stripe_customer'
          AND CASE WHEN length(state) > 2 THEN get_byte(state, 2) = 0 ELSE false END
        """

    static func expectCountsMatchAScan(_ driver: DatabaseDriver, _ when: String) async throws -> EntityStateRepository.Counts {
        let counts = try await driver.database.client.withConnection { connection in
            try await EntityStateRepository.counts(on: connection, logger: driver.env.logger)
        }
        let users = try await driver.column(scanUsers, as: Int64.self).first ?? -1
        let unmapped = try await driver.column(scanUnmapped, as: Int64.self).first ?? -1
        #expect(counts.users == users, "users \(when)")
        #expect(counts.unmappedStripeCustomers == unmapped, "unmapped Stripe customers \(when)")
        return counts
    }

    static func stripe(_ id: String, customer: String, topics: Topics, nowMs: Int64) -> OutboundMessage {
        let event = StripeEvent(
            id: id, type: .subscriptionCreated, createdMs: nowMs - 10_000, customerId: customer, objectId: "sub_" + customer,
            status: "active")
        return OutboundMessage(topic: topics.stripe, key: Array(customer.utf8), value: BillingJSON.stripe(event))
    }

    static func account(_ user: String, customer: String?, version: Int64, topics: Topics, nowMs: Int64) -> OutboundMessage {
        let snapshot = AccountSnapshot(
            userId: user, tier: .pro, credits: 0, stripeCustomerId: customer, subscriptionStatus: "active",
            updatedAtMs: nowMs - 5_000 + version, version: version)
        return OutboundMessage(topic: topics.accounts, key: Array(user.utf8), value: BillingJSON.account(snapshot))
    }

    @Test func countsFollowEveryWrite_andAMigrationOverExistingRowsStartsFromAScan() async throws {
        try await DatabaseDriver.with { driver in
            let topics = driver.settings.topics
            let now = driver.clock.now
            let traffic = BillingTraffic.generate(.init(users: 120, eventsPerUser: 6, seed: 7, endMs: now))
            let messages = traffic.messages(topics: topics)
            // Several batches: new keys are inserted, then updated, and placeholders filled.
            for chunk in stride(from: 0, to: messages.count, by: 97).map({ Array(messages[$0..<min($0 + 97, messages.count)]) }) {
                try await driver.consume(chunk)
            }
            var counts = try await Self.expectCountsMatchAScan(driver, "after the traffic")
            #expect(counts.users == Int64(Set(traffic.ledger.map(\.userId) + traffic.users.map(\.userId)).count))

            // Customers nobody names, then one gains a user, and a user moves to another customer.
            try await driver.consume([
                Self.stripe("evt_x1", customer: "cus_x", topics: topics, nowMs: now),
                Self.stripe("evt_y1", customer: "cus_y", topics: topics, nowMs: now),
                Self.stripe("evt_z1", customer: "cus_z", topics: topics, nowMs: now),
            ])
            counts = try await Self.expectCountsMatchAScan(driver, "after three unnamed customers")
            #expect(counts.unmappedStripeCustomers >= 3)
            let before = counts.unmappedStripeCustomers
            try await driver.consume([Self.account("u_x", customer: "cus_x", version: 1, topics: topics, nowMs: now)])
            counts = try await Self.expectCountsMatchAScan(driver, "after cus_x gained a user")
            #expect(counts.unmappedStripeCustomers == before - 1)
            try await driver.consume([Self.account("u_x", customer: "cus_y", version: 2, topics: topics, nowMs: now)])
            counts = try await Self.expectCountsMatchAScan(driver, "after u_x moved to cus_y")
            #expect(counts.unmappedStripeCustomers == before - 1)
            try await driver.settle()
            _ = try await Self.expectCountsMatchAScan(driver, "after the sweeper")

            // The migration over a table that already holds rows starts from a scan of them.
            try await driver.database.client.withTransaction(logger: driver.env.logger) { connection in
                try await connection.query("DELETE FROM assurance.entity_state_counts", logger: driver.env.logger)
                for statement in Migrations.stateCounts.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: driver.env.logger)
                }
            }
            let again = try await Self.expectCountsMatchAScan(driver, "after re-running the migration")
            #expect(again == counts)
        }
    }
}
