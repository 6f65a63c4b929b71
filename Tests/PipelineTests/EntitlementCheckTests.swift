import CheckPipeline
import Shared
import Testing

@Suite struct EntitlementCheckTests {
    let t0 = Fixture.t0
    let day: Int64 = 86_400_000

    @Test func paidWithoutCustomer_opensImmediately_andResolvesWhenCustomerAppears() {
        let d = Fixture.driver()
        let opened = d.send(Fixture.account(tier: .pro, customer: nil, status: "active", version: 1))
        #expect(opened.ids == ["paid-without-customer:u1"])
        #expect(opened.first?.severity == .critical)
        #expect(opened.first?.repair?.action == .downgradeToFree)
        #expect(opened.first?.evidence == ["tier": "PRO", "stripeCustomerId": nil, "subscriptionStatus": "active"])
        let healed = d.send(Fixture.account(tier: .pro, customer: "cus_9", status: "active", version: 2))
        #expect(healed.map(\.status) == [.resolved])
    }

    @Test func paidWithoutCustomer_nearMiss_freeWithoutCustomerIsFine() {
        let d = Fixture.driver()
        #expect(d.send(Fixture.account(tier: .free, customer: nil, version: 1)).isEmpty)
        #expect(d.send(Fixture.account(tier: .free, customer: "", version: 2)).isEmpty)
    }

    @Test func tierMismatch_opensForCanceledPaidAndActiveFree_andResolvesWhenTheyAgree() {
        let d = Fixture.driver()
        let opened = d.send(Fixture.account(tier: .team, customer: "cus_1", status: "canceled", version: 1))
        #expect(opened.ids == ["tier-mismatch:u1"])
        #expect(opened.first?.evidence == ["tier": "TEAM", "subscriptionStatus": "canceled", "stripeCustomerId": "cus_1"])
        let flipped = d.send(Fixture.account(tier: .free, customer: "cus_1", status: "trialing", version: 2))
        #expect(flipped.map(\.status) == [.open])
        #expect(flipped.first?.version == 2)
        let healed = d.send(Fixture.account(tier: .free, customer: "cus_1", status: "canceled", version: 3))
        #expect(healed.map(\.status) == [.resolved])
    }

    @Test func tierMismatch_nearMiss_pastDueProAndNoCustomerAreNotMismatches() {
        let d = Fixture.driver()
        #expect(d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "past_due", version: 1)).isEmpty)
        let other = d.send(Fixture.account(user: "u2", tier: .free, customer: nil, status: "active", version: 1))
        #expect(other.isEmpty)
    }

    @Test func freeGrant_flagsGrantWhileFree_afterSettle_andALaterTierChangeDoesNotResolveIt() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .free, customer: "cus_1", at: t0 - day, version: 1))
        d.send(Fixture.row("g1", seq: 1, .subscriptionGrant, amount: 500, balance: 500, event: "e1", invoice: "in_1"))
        d.send(Fixture.webhook("e1"))
        #expect(!d.openIssueIds.contains("free-subscription-grant:g1"))
        let opened = d.advance(toMs: t0 + 30_000)
        #expect(opened.ids.contains("free-subscription-grant:g1"))
        let grant = d.open("free-subscription-grant:g1")
        #expect(grant?.evidence["tierInEffect"] == "FREE")
        #expect(grant?.severity == .error)
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", at: t0 + day, version: 2))
        d.settleAll()
        #expect(d.openIssueIds.contains("free-subscription-grant:g1"))
    }

    @Test func freeGrant_nearMiss_tierChangeWithinSettleAfterTheGrantAbsorbsTheRace() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .free, customer: "cus_1", at: t0 - day, version: 1))
        d.send(Fixture.row("g1", seq: 1, .subscriptionGrant, amount: 500, balance: 500, event: "e1", invoice: "in_1"))
        d.send(Fixture.webhook("e1"))
        d.send(Fixture.account(tier: .pro, credits: 500, customer: "cus_1", status: "active", at: t0 + 20_000, version: 2))
        d.settleAll()
        #expect(d.openIssueIds.isEmpty)
    }

    @Test func freeGrant_beforeAnySnapshot_waitsForTheEarliestSnapshot() {
        let d = Fixture.driver()
        d.send(Fixture.row("g1", seq: 1, .subscriptionGrant, amount: 500, balance: 500, event: "e1", invoice: "in_1"))
        d.send(Fixture.webhook("e1"))
        #expect(d.advance(toMs: t0 + 60_000).isEmpty)
        d.send(Fixture.account(tier: .free, credits: 500, customer: "cus_1", at: t0 + day, version: 1))
        #expect(d.openIssueIds == ["free-subscription-grant:g1"])
    }

    @Test func staleSubscription_flipsInEventTime_andResolvesWithAnInvoiceBackedGrant() {
        let d = Fixture.driver(periodDays: 45)
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", at: t0, version: 1))
        #expect(d.advanceWatermark(toMs: t0 + 45 * day).isEmpty)
        let opened = d.advanceWatermark(toMs: t0 + 45 * day + 1)
        #expect(opened.ids == ["stale-subscription:u1"])
        #expect(opened.first?.severity == .warning)
        #expect(
            opened.first?.evidence == [
                "tier": "PRO", "paidSince": .string(Timestamp.format(t0)), "lastInvoiceGrantAt": nil, "periodDays": 45,
            ])
        let healed = d.send(
            Fixture.row(
                "g1", seq: 1, .subscriptionGrant, amount: 500, balance: 500, event: "e1", invoice: "in_1",
                at: t0 + 45 * day + 2))
        #expect(healed.contains { $0.issueId == "stale-subscription:u1" && $0.status == .resolved })
    }

    @Test func staleSubscription_nearMiss_grantWithoutInvoiceDoesNotCount_butANewPaidStreakDoes() {
        let d = Fixture.driver(periodDays: 1)
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", at: t0, version: 1))
        d.send(Fixture.row("g1", seq: 1, .subscriptionGrant, amount: 5, balance: 5, at: t0 + day / 2))
        d.advanceWatermark(toMs: t0 + day + 1)
        #expect(d.openIssueIds.contains("stale-subscription:u1"))
        d.send(Fixture.account(tier: .free, customer: "cus_1", status: "canceled", at: t0 + day + 2, version: 2))
        #expect(!d.openIssueIds.contains("stale-subscription:u1"))
        d.send(Fixture.account(tier: .team, customer: "cus_1", status: "active", at: t0 + day + 3, version: 3))
        d.advanceWatermark(toMs: t0 + 2 * day)
        #expect(!d.openIssueIds.contains("stale-subscription:u1"))
    }
}
