import CheckPipeline
import Shared
import Testing

@Suite struct RevenueAnomalyCheckTests {
    @Test func purchaseWithoutPaymentIntent_firesOnce_nearMissWithIntent() {
        let d = Fixture.driver()
        let row = Fixture.row("r1", seq: 1, .purchase, amount: 100, balance: 100, intent: "")
        let opened = d.send(row)
        #expect(opened.ids == ["purchase-without-payment-intent:r1"])
        #expect(opened.first?.evidence["ledgerRowId"] == "r1")
        #expect(d.send(row).isEmpty)
        #expect(d.send(Fixture.row("r2", seq: 2, .purchase, amount: 1, balance: 101, intent: "p2")).isEmpty)
        d.settleAll()
        #expect(d.openIssueIds == ["purchase-without-payment-intent:r1"])
    }

    @Test func grantWithoutInvoice_firesOnce_nearMissWithInvoice() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", at: Fixture.t0 - 1, version: 1))
        let opened = d.send(Fixture.row("g1", seq: 1, .subscriptionGrant, amount: 100, balance: 100))
        #expect(opened.ids == ["grant-without-invoice:g1"])
        #expect(d.send(Fixture.row("g2", seq: 2, .subscriptionGrant, amount: 100, balance: 200, invoice: "in_2")).isEmpty)
        d.settleAll()
        #expect(d.openIssueIds.filter { $0.hasPrefix("grant-without-invoice:") } == ["grant-without-invoice:g1"])
    }

    @Test func largeMovement_atThresholdFires_belowDoesNot_negativeCounts() {
        let d = Fixture.driver()
        #expect(d.send(Fixture.row("r1", seq: 1, .adjustment, amount: 99_999, balance: 99_999)).isEmpty)
        let opened = d.send(Fixture.row("r2", seq: 2, .adjustment, amount: 100_000, balance: 199_999))
        #expect(opened.ids == ["large-credit-movement:r2"])
        #expect(opened.first?.evidence["threshold"] == 100_000)
        #expect(opened.first?.severity == .warning)
        #expect(d.send(Fixture.row("r3", seq: 3, .usage, amount: -100_000, balance: 99_999)).ids == ["large-credit-movement:r3"])
    }

    @Test func unlimitedCredits_firesForUser_notForAdmin_andResolvesWhenDisabled() {
        let d = Fixture.driver()
        #expect(d.send(Fixture.account(user: "a1", role: .admin, unlimited: true, version: 1)).isEmpty)
        let opened = d.send(Fixture.account(role: .user, unlimited: true, version: 1))
        #expect(opened.ids == ["unlimited-credits:u1"])
        #expect(opened.first?.repair?.action == .disableUnlimitedCredits)
        let healed = d.send(Fixture.account(role: .user, unlimited: false, version: 2))
        #expect(healed.map(\.status) == [.resolved])
    }
}
