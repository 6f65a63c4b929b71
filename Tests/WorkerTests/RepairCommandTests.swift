import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Signed repair commands against a real PostgreSQL: each action with its audit row, every rejection code,
/// idempotent command ids, and concurrent conflicting commands.
@Suite struct RepairCommandTests {
    /// Seeds the billing tables and the streaming state with one user per repairable fault.
    static func seed(_ driver: DatabaseDriver) async throws -> BillingTraffic {
        let traffic = BillingTraffic.generate(
            .init(users: 120, eventsPerUser: 6, seed: 11, endMs: driver.clock.now, faultEvery: 11))
        try await driver.database.client.withConnection { connection in
            try await BillingTables.insert(traffic, on: connection, logger: driver.env.logger)
        }
        try await driver.consume(traffic.messages(topics: driver.settings.topics))
        try await driver.settle()
        return traffic
    }

    static func issueId(_ traffic: BillingTraffic, _ check: CheckKind) -> String {
        traffic.expectedIssueIds.filter { CheckKind.of(issueId: $0) == check }.sorted()[0]
    }

    @Test func syncBalanceSetsTheBalanceWritesAnAuditRowWithTheDeltaAndResolvesTheIssue() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .creditBalanceMismatch)
            let userId = String(id.dropFirst("credit-balance:".count))
            let before = try #require(try await driver.issue(id))
            let balance = try #require(before.evidence["balance"]?.intValue)
            let ledger = try #require(before.evidence["ledgerBalanceAfter"]?.intValue)
            let result = try await driver.command(driver.signed(issueId: id, reason: "Reconciled after review"))
            #expect(result.outcome == .applied)
            #expect(result.action == "sync_balance")
            #expect(result.audit.map(\.table) == ["credit_transactions"])
            let credits = try await driver.column("SELECT credits FROM users WHERE id = \(userId)", as: Int64.self)
            #expect(credits == [ledger])
            let audit = try await driver.query(
                "SELECT type, amount, balance_after, reason, actor, command_id FROM credit_transactions WHERE id = \(result.audit[0].id)",
                as: (String, Int64, Int64, String, String, String).self)
            #expect(audit.count == 1)
            #expect(audit.first?.0 == "AUDIT")
            #expect(audit.first?.1 == ledger - balance)
            #expect(audit.first?.2 == ledger)
            #expect(audit.first?.3 == "Reconciled after review")
            #expect(audit.first?.4 == "admin_7")
            #expect(audit.first?.5 == result.commandId)
            let after = try #require(try await driver.issue(id))
            #expect(after.status == .resolved)
            #expect(after.resolution == .repaired)
            // The repair's own rows coming back through change data capture change nothing.
            try await driver.settle()
            #expect(try await driver.issue(id)?.status == .resolved)
            #expect(try await driver.openIssues().allSatisfy { !$0.issueId.hasPrefix("ledger-arithmetic:\(userId)") })
        }
    }

    @Test func downgradeToFreeWritesASubscriptionAuditRow() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .paidTierWithoutCustomer)
            let userId = String(id.dropFirst("paid-without-customer:".count))
            let result = try await driver.command(driver.signed(issueId: id))
            #expect(result.outcome == .applied)
            #expect(try await driver.column("SELECT tier FROM users WHERE id = \(userId)", as: String.self) == ["FREE"])
            let audit = try await driver.query(
                "SELECT from_tier, to_tier, actor, command_id FROM subscription_audit WHERE user_id = \(userId)",
                as: (String, String, String, String).self)
            #expect(audit.count == 1)
            #expect(audit.first?.0 == "PRO")
            #expect(audit.first?.1 == "FREE")
            #expect(audit.first?.3 == result.commandId)
            #expect(try await driver.issue(id)?.resolution == .repaired)
        }
    }

    @Test func disableUnlimitedCreditsWritesAZeroAmountAuditRow() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .nonAdminUnlimitedCredits)
            let userId = String(id.dropFirst("unlimited-credits:".count))
            let result = try await driver.command(driver.signed(issueId: id))
            #expect(result.outcome == .applied)
            #expect(try await driver.column("SELECT unlimited_credits FROM users WHERE id = \(userId)", as: Bool.self) == [false])
            let audit = try await driver.query(
                "SELECT type, amount FROM credit_transactions WHERE id = \(result.audit[0].id)", as: (String, Int64).self)
            #expect(audit.first?.0 == "AUDIT")
            #expect(audit.first?.1 == 0)
            #expect(try await driver.issue(id)?.status == .resolved)
        }
    }

    @Test func backfillWebhookRecordInsertsTheRecordWithSourceBackfill() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .missingIdempotencyRecord)
            let eventId = String(id.dropFirst("webhook-missing:".count))
            let result = try await driver.command(driver.signed(issueId: id))
            #expect(result.outcome == .applied)
            #expect(result.audit == [AuditReference(table: "stripe_webhook_events", id: eventId)])
            #expect(try await driver.column("SELECT source FROM stripe_webhook_events WHERE event_id = \(eventId)", as: String.self) == ["backfill"])
            // The app's table has no audit columns: who and why sit beside the command's result.
            let processed = try await driver.query(
                "SELECT actor, reason FROM assurance.processed_commands WHERE command_id = \(result.commandId)", as: (String, String).self)
            #expect(processed.first?.0 == "admin_7")
            #expect(processed.first?.1 == "Reviewed by on-call")
            #expect(try await driver.issue(id)?.status == .resolved)
        }
    }

    @Test func dryRunPlansWithoutApplying() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .creditBalanceMismatch)
            let userId = String(id.dropFirst("credit-balance:".count))
            let credits = try await driver.column("SELECT credits FROM users WHERE id = \(userId)", as: Int64.self)
            let result = try await driver.command(driver.signed(issueId: id, dryRun: true))
            #expect(result.outcome == .dryRun)
            #expect(result.plan != nil)
            #expect(try await driver.column("SELECT credits FROM users WHERE id = \(userId)", as: Int64.self) == credits)
            #expect(try await driver.issue(id)?.status == .open)
        }
    }

    @Test func everyRejectionCodeOfTheContract() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .creditBalanceMismatch)
            func rejection(_ command: RepairCommand) async throws -> RepairRejection? {
                let result = try await driver.command(command)
                return result.rejection
            }
            var forged = driver.signed(issueId: id)
            forged.signature = String(repeating: "ab", count: 32)
            #expect(try await rejection(forged) == .invalidSignature)
            var tampered = driver.signed(issueId: id)
            tampered.reason = "something else"
            #expect(try await rejection(tampered) == .invalidSignature)
            var flipped = driver.signed(issueId: id, dryRun: true)
            flipped.dryRun = false
            #expect(try await rejection(flipped) == .invalidSignature)
            #expect(try await rejection(driver.signed(issueId: id, actor: .init(id: "u1", role: "USER"))) == .unauthorized)
            #expect(try await rejection(driver.signed(issueId: id, reason: "   ")) == .invalid)
            #expect(try await rejection(driver.signed(issueId: id, requestedAtMs: driver.clock.now - 16 * 60_000)) == .expired)
            #expect(try await rejection(driver.signed(issueId: id, requestedAtMs: driver.clock.now + 120_000)) == .invalid)
            #expect(try await rejection(driver.signed(issueId: "credit-balance:nobody")) == .notFound)
            // An id that names no check is no issue either (no guessed check behind it).
            #expect(try await rejection(driver.signed(issueId: "no-such-check:u1")) == .notFound)
            #expect(try await rejection(driver.signed(issueId: Self.issueId(traffic, .ledgerSequenceGap))) == .notRepairable)
            let garbage = try await driver.commandBytes(Array("{not json".utf8), key: id)
            #expect(garbage.rejection == .invalid)
            // Stale: the balance changed in the database since the issue saw it.
            let userId = String(id.dropFirst("credit-balance:".count))
            try await driver.database.client.query("UPDATE users SET credits = credits + 1 WHERE id = \(userId)")
            #expect(try await rejection(driver.signed(issueId: id)) == .stale)
            try await driver.database.client.query("UPDATE users SET credits = credits - 1 WHERE id = \(userId)")
            #expect(try await driver.command(driver.signed(issueId: id)).outcome == .applied)
            #expect(try await rejection(driver.signed(issueId: id)) == .notOpen)
            // Only the one applied repair wrote anything.
            #expect(try await driver.column("SELECT count(*) FROM credit_transactions WHERE user_id = \(userId) AND type = 'AUDIT'", as: Int64.self) == [1])
        }
    }

    @Test func theSameCommandThreeTimesAppliesOnceAndAnswersDuplicateTwice() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .creditBalanceMismatch)
            let command = driver.signed(issueId: id)
            let outcomes = [
                try await driver.command(command), try await driver.command(command), try await driver.command(command),
            ]
            #expect(outcomes.map(\.outcome) == [.applied, .duplicate, .duplicate])
            #expect(outcomes[1].audit == outcomes[0].audit)
            #expect(try await driver.column("SELECT count(*) FROM credit_transactions WHERE command_id = \(command.commandId)", as: Int64.self) == [1])
        }
    }

    @Test func twoConflictingCommandsAtOnceApplyExactlyOne() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .creditBalanceMismatch)
            let first = driver.signed(issueId: id)
            let second = driver.signed(issueId: id)
            let topic = driver.settings.topics.commands
            // Two workers: two processors, two partitions, one database.
            let other = CommandProcessor(
                client: driver.database.client, settings: driver.settings, logger: driver.env.logger)
            async let a: Bool = driver.commands.process(
                InboundRecord(topic: topic, partition: 1, offset: 0, key: nil, value: Array(try JSONEncoder().encode(first))))
            async let b: Bool = other.process(
                InboundRecord(topic: topic, partition: 2, offset: 0, key: nil, value: Array(try JSONEncoder().encode(second))))
            _ = try await (a, b)
            let results = try await driver.outbox(topic: driver.settings.topics.repairs).map {
                try JSONDecoder().decode(RepairResult.self, from: Data($0.value ?? []))
            }
            #expect(results.map(\.outcome).sorted { $0.rawValue < $1.rawValue } == [.applied, .rejected])
            #expect(results.compactMap(\.rejection) == [.notOpen])
        }
    }

    @Test func aRepairTheDatabaseRefusesAnswersFailedAndAppliesNothing() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .creditBalanceMismatch)
            let userId = String(id.dropFirst("credit-balance:".count))
            let credits = try await driver.column("SELECT credits FROM users WHERE id = \(userId)", as: Int64.self)
            // The audit row's id is taken already, so its insert violates the primary key.
            try await driver.database.client.query(
                "INSERT INTO credit_transactions (id, user_id, seq, type, amount, balance_after) VALUES ('ctx_audit_cmd_taken', 'someone', 1, 'AUDIT', 0, 0)")
            let result = try await driver.command(driver.signed(issueId: id, commandId: "cmd_taken"))
            #expect(result.outcome == .rejected)
            #expect(result.rejection == .failed)
            #expect(result.detail?.contains("23505") == true, "\(result.detail ?? "")")
            #expect(try await driver.column("SELECT credits FROM users WHERE id = \(userId)", as: Int64.self) == credits)
            #expect(try await driver.issue(id)?.status == .open)
        }
    }

    @Test func aForgedCommandDoesNotTakeItsCommandId() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await Self.seed(driver)
            let id = Self.issueId(traffic, .creditBalanceMismatch)
            var forged = driver.signed(issueId: id, commandId: "cmd_shared")
            forged.signature = String(repeating: "0", count: 64)
            #expect(try await driver.command(forged).rejection == .invalidSignature)
            #expect(try await driver.command(driver.signed(issueId: id, commandId: "cmd_shared")).outcome == .applied)
        }
    }
}
