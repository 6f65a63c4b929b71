import CheckPipeline
import Shared
import Testing

@Suite struct WebhookAndGateCheckTests {
    let t0 = Fixture.t0

    @Test func missingWebhook_opensAfterSettle_andResolvesWhenTheRecordArrivesLate() {
        let d = Fixture.driver()
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 100, balance: 100, event: "e1", intent: "p1"))
        #expect(d.advance(toMs: t0 + 29_999).isEmpty)
        let opened = d.advance(toMs: t0 + 30_000)
        #expect(opened.ids == ["webhook-missing:e1"])
        #expect(opened.first?.userId == "u1")
        #expect(opened.first?.repair?.action == .backfillWebhookRecord)
        #expect(opened.first?.evidence == ["stripeEventId": "e1", "ledgerRowIds": ["r1"], "rowCount": 1])
        let healed = d.send(.webhook(WebhookRecord(eventId: "e1", source: "backfill")))
        #expect(healed.map(\.status) == [.resolved])
    }

    @Test func missingWebhook_nearMiss_recordWithinSettleOpensNothing() {
        let d = Fixture.driver()
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 100, balance: 100, event: "e1", intent: "p1"))
        d.send(Fixture.webhook("e1"), atMs: t0 + 29_000)
        d.settleAll()
        #expect(d.openIssueIds.isEmpty)
    }

    @Test func duplicateEvent_firesForTwoPositiveRows_acrossUsers_andUpdatesWithAThird() {
        let d = Fixture.driver()
        d.send(Fixture.webhook("e1"))
        d.send(Fixture.row("r1", user: "u1", seq: 1, .adjustment, amount: 100, balance: 100, event: "e1"))
        let opened = d.send(Fixture.row("r2", user: "u2", seq: 1, .adjustment, amount: 100, balance: 100, event: "e1"))
        #expect(opened.ids == ["duplicate-event:e1"])
        #expect(opened.first?.severity == .critical)
        #expect(opened.first?.userId == "u1")
        let updated = d.send(Fixture.row("r3", user: "u3", seq: 1, .adjustment, amount: 1, balance: 1, event: "e1"))
        #expect(updated.first?.evidence == ["stripeEventId": "e1", "ledgerRowIds": ["r1", "r2", "r3"], "rowCount": 3])
        // Duplicates are facts about immutable rows: nothing resolves them.
        d.settleAll()
        #expect(d.openIssueIds == ["duplicate-event:e1"])
    }

    @Test func duplicateEvent_nearMiss_redeliveryAndNegativeRowsAreNotDuplicates() {
        let d = Fixture.driver()
        d.send(Fixture.webhook("e1"))
        let row = Fixture.row("r1", seq: 1, .adjustment, amount: 100, balance: 100, event: "e1")
        d.send(row)
        d.send(row)
        d.send(Fixture.row("r2", seq: 2, .refund, amount: -100, balance: 0, event: "e1"))
        d.settleAll()
        #expect(d.openIssueIds.isEmpty)
    }

    @Test func duplicatePaymentIntent_firesForTwoPurchases_notForARefund() {
        let d = Fixture.driver(settleMs: 0)
        d.send([Fixture.webhook("e1"), Fixture.webhook("e2"), Fixture.webhook("e3")])
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 100, balance: 100, event: "e1", intent: "p1"))
        d.send(Fixture.row("r2", seq: 2, .refund, amount: -100, balance: 0, event: "e2", intent: "p1"))
        #expect(d.openIssueIds.isEmpty)
        let opened = d.send(
            Fixture.row("r3", user: "u2", seq: 1, .purchase, amount: 100, balance: 100, event: "e3", intent: "p1"))
        #expect(opened.ids == ["duplicate-payment-intent:p1"])
        #expect(opened.first?.evidence == ["stripePaymentIntentId": "p1", "ledgerRowIds": ["r1", "r3"], "rowCount": 2])
    }

    @Test func duplicateInvoiceGrant_firesForTwoGrants_notForAGrantAndAPurchase() {
        let d = Fixture.driver(settleMs: 0)
        d.send([Fixture.webhook("e1"), Fixture.webhook("e2"), Fixture.webhook("e3")])
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", at: Fixture.t0 - 1, version: 1))
        d.send(Fixture.row("r1", seq: 1, .subscriptionGrant, amount: 100, balance: 100, event: "e1", invoice: "in_1"))
        d.send(Fixture.row("r2", seq: 2, .purchase, amount: 100, balance: 200, event: "e2", intent: "p2", invoice: "in_1"))
        #expect(!d.openIssueIds.contains("duplicate-invoice-grant:in_1"))
        d.send(Fixture.row("r3", seq: 3, .subscriptionGrant, amount: 100, balance: 300, event: "e3", invoice: "in_1"))
        #expect(d.openIssueIds.contains("duplicate-invoice-grant:in_1"))
    }

    @Test func planGate_regressionOpens_olderGateIsIgnored_andAFixedGateResolves() {
        let d = Fixture.driver()
        let opened = d.send(Fixture.gate("advanced_exports", [.free, .pro, .team], at: t0))
        #expect(opened.ids == ["plan-gate:advanced_exports"])
        #expect(opened.first?.userId == nil)
        #expect(
            opened.first?.evidence == [
                "feature": "advanced_exports", "allowedTiers": ["FREE", "PRO", "TEAM"], "expectedTiers": ["PRO", "TEAM"],
                "policy": "premium",
            ])
        #expect(d.send(Fixture.gate("advanced_exports", [.pro, .team], at: t0 - 1)).isEmpty)
        let healed = d.send(Fixture.gate("advanced_exports", [.team, .pro], at: t0 + 1))
        #expect(healed.map(\.status) == [.resolved])
    }

    @Test func planGate_nearMiss_matchingGateAndUnknownFeatureOpenNothing() {
        let d = Fixture.driver()
        #expect(d.send(Fixture.gate("sso", [.team])).isEmpty)
        #expect(d.send(Fixture.gate("not_in_policy", [.free])).isEmpty)
    }
}
