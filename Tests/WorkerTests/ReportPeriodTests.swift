import CheckPipeline
import Consumers
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The report's `periodDays` other than the configured one re-evaluates the stale-subscription rule
/// from the candidates' states only (indexed stale points, plus users whose stale issue is open);
/// the answer must be what the rule says for every period, shorter or longer than the configured.
@Suite struct ReportPeriodTests {
    static let day: Int64 = 86_400_000

    @Test func everyPeriod_listsExactlyTheUsersStaleUnderIt() async throws {
        try await DatabaseDriver.with { driver in
            let topics = driver.settings.topics
            let now = driver.clock.now
            var messages: [OutboundMessage] = []
            // Paid users since 0 to 117 days ago; every fourth one got an invoice grant later on.
            var anchors: [String: Int64] = [:]
            for k in 0..<40 {
                let user = "paid_\(k)"
                let paidSince = now - Int64(k * 3) * Self.day - 1_000
                let account = AccountSnapshot(
                    userId: user, tier: k % 2 == 0 ? .pro : .team, credits: k % 4 == 1 ? 500 : 0,
                    stripeCustomerId: "cus_\(k)", subscriptionStatus: "active", updatedAtMs: paidSince, version: 1)
                messages.append(OutboundMessage(topic: topics.accounts, key: Array(user.utf8), value: BillingJSON.account(account)))
                var anchor = paidSince
                if k % 4 == 1 {
                    let grantAt = paidSince + Int64(k) * Self.day / 2
                    let grant = LedgerRow(
                        id: "grant_\(k)", userId: user, seq: 1, type: .subscriptionGrant, amount: 500, balanceAfter: 500,
                        stripeEventId: "evt_grant_\(k)", stripeInvoiceId: "in_\(k)", createdAtMs: grantAt)
                    messages.append(OutboundMessage(topic: topics.ledger, key: Array(user.utf8), value: BillingJSON.ledger(grant)))
                    anchor = max(anchor, grantAt)
                }
                anchors[user] = anchor
            }
            // Free users are never stale.
            for k in 0..<10 {
                let account = AccountSnapshot(userId: "free_\(k)", tier: .free, credits: 0, updatedAtMs: now - 200 * Self.day)
                messages.append(OutboundMessage(topic: topics.accounts, key: Array("free_\(k)".utf8), value: BillingJSON.account(account)))
            }
            // The newest event time (the watermark) is now.
            let clockRow = LedgerRow(id: "clock", userId: "clock_user", seq: 1, type: .adjustment, amount: 0, balanceAfter: 0, createdAtMs: now)
            messages.append(OutboundMessage(topic: topics.ledger, key: Array("clock_user".utf8), value: BillingJSON.ledger(clockRow)))
            try await driver.consume(messages)
            try await driver.settle()

            let configured = driver.settings.checks.periodDays
            let open = try await driver.openIssues().filter { $0.check == .stalePaidSubscription }
            #expect(Set(open.compactMap(\.userId)) == Self.stale(anchors, now: now, periodDays: configured))
            #expect(!open.isEmpty)

            let query = ReportQuery(client: driver.database.client, settings: driver.settings, logger: driver.env.logger)
            for period: Int64 in [1, 7, 30, configured - 1, configured, configured + 1, 90, 365] {
                let report = try await query.report(periodDays: period, nowMs: now)
                let stale = report.issues.filter { $0.check == .stalePaidSubscription }
                #expect(
                    Set(stale.compactMap(\.userId)) == Self.stale(anchors, now: now, periodDays: period),
                    "periodDays \(period)")
                #expect(stale.allSatisfy { $0.title.contains("\(period) days") }, "periodDays \(period)")
            }
        }
    }

    /// The users the contract's rule calls stale with this period: the watermark passed anchor + period.
    static func stale(_ anchors: [String: Int64], now: Int64, periodDays: Int64) -> Set<String> {
        Set(anchors.filter { now > $0.value + periodDays * day }.keys)
    }
}
