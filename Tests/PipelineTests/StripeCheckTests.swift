import CheckPipeline
import Shared
import Testing

/// The three Stripe checks, one behaviour per test, through the in-memory driver.
@Suite struct StripeCheckTests {
    let t0 = Fixture.t0
    let settle: Int64 = 30_000
    static let stripeChecks: Set<CheckKind> = [.stripePaidLocalFree, .localPaidStripeInactive, .paidInvoiceWithoutGrant]

    func stripeIssues(_ d: PipelineDriver) -> [String] {
        d.openIssues.filter { Self.stripeChecks.contains($0.check) }.map(\.issueId)
    }

    @Test func paidInStripe_localFree_opensAfterTheSettleTime_andResolvesWhenTheTierIsPaid() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .free, customer: "cus_1", version: 1))
        #expect(d.send(Fixture.subscription("evt_1", status: "active", .subscriptionCreated)).isEmpty)
        #expect(d.advance(toMs: t0 + settle - 1).isEmpty)
        let opened = d.advance(toMs: t0 + settle)
        #expect(opened.ids == ["stripe-paid-local-free:u1"])
        #expect(opened.first?.severity == .critical)
        #expect(opened.first?.category == .entitlementDrift)
        #expect(opened.first?.userId == "u1")
        #expect(opened.first?.repair == nil)
        #expect(
            opened.first?.evidence
                == ["tier": "FREE", "stripeCustomerId": "cus_1", "subscriptions": [["id": "sub_1", "status": "active"]]])
        let healed = d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 2))
        #expect(healed.filter { $0.issueId == "stripe-paid-local-free:u1" }.map(\.status) == [.resolved])
        #expect(d.keyViolations.isEmpty)
    }

    @Test func inactiveInStripe_localPaid_opensAfterSettle_andResolvesWhenResumed() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.subscription("evt_1", status: "active", .subscriptionCreated, created: 0))
        d.send(Fixture.subscription("evt_2", status: "active", .subscriptionDeleted, created: 10))
        let opened = d.advance(toMs: t0 + settle)
        #expect(opened.ids == ["stripe-inactive-local-paid:u1"])
        #expect(opened.first?.severity == .error)
        #expect(opened.first?.check == .localPaidStripeInactive)
        // `deleted` means canceled whatever the object says.
        #expect(opened.first?.evidence["subscriptions"] == [["id": "sub_1", "status": "canceled"]])
        let healed = d.send(Fixture.subscription("evt_3", status: "active", .subscriptionResumed, created: 20))
        #expect(healed.map(\.status) == [.resolved])
        #expect(healed.first?.resolution == .selfHealed)
    }

    @Test func outOfOrder_anOlderCanceledArrivingAfterActive_changesNothing() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.subscription("evt_b", status: "active", created: 100))
        d.send(Fixture.subscription("evt_a", status: "canceled", .subscriptionDeleted, created: 50))
        d.settleAll()
        #expect(stripeIssues(d).isEmpty)
        // Equal `created`: the greater event id wins.
        d.send(Fixture.subscription("evt_c", status: "canceled", created: 100))
        d.settleAll()
        #expect(stripeIssues(d) == ["stripe-inactive-local-paid:u1"])
    }

    @Test func theSameEventTwice_countsOnce() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .free, customer: "cus_1", version: 1))
        let event = Fixture.subscription("evt_1", status: "active")
        d.send(event)
        #expect(d.send(event).isEmpty)
        #expect(d.dispositions[.duplicateStripeEvent] == 1)
        #expect(d.dispositions[.applied] == 2)
    }

    @Test func twoSubscriptions_oneCanceledOneActive_isPaid() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.subscription("evt_1", sub: "sub_old", status: "canceled", .subscriptionDeleted))
        d.send(Fixture.subscription("evt_2", sub: "sub_new", status: "active", .subscriptionCreated))
        d.settleAll()
        #expect(stripeIssues(d).isEmpty)
        d.send(Fixture.account(tier: .free, customer: "cus_1", version: 2))
        d.settleAll()
        #expect(stripeIssues(d) == ["stripe-paid-local-free:u1"])
    }

    @Test func incompleteOnly_noStripeCheckApplies() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .free, customer: "cus_1", version: 1))
        d.send(Fixture.account(user: "u2", tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.subscription("evt_1", status: "incomplete", .subscriptionCreated))
        d.settleAll()
        #expect(stripeIssues(d).isEmpty)
    }

    @Test func snapshotNamingTheCustomerAfterItsEvents_appliesThem_settleCountingFromThen() {
        let d = Fixture.driver()
        d.send(Fixture.subscription("evt_1", customer: "cus_9", status: "active"))
        d.send(Fixture.invoicePaid("evt_2", customer: "cus_9", invoice: "in_9"))
        d.advance(toMs: t0 + 10 * settle)
        #expect(stripeIssues(d).isEmpty)
        #expect(d.store.get(.stripeCustomer("cus_9"))?.stripeCustomerState?.isUnmapped == true)
        let named = t0 + 10 * settle
        d.send(Fixture.account(tier: .free, customer: "cus_9", at: named, version: 1))
        #expect(d.store.get(.stripeCustomer("cus_9"))?.stripeCustomerState?.isUnmapped == false)
        #expect(d.advance(toMs: named + settle - 1).isEmpty)
        let opened = d.advance(toMs: named + settle)
        #expect(Set(opened.ids) == ["stripe-paid-local-free:u1", "invoice-without-grant:in_9"])
        #expect(d.keyViolations.isEmpty)
    }

    @Test func invoiceGrantedWithinTheSettleTime_opensNothing() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.invoicePaid("evt_1", invoice: "in_1"))
        d.advance(toMs: t0 + settle - 1)
        d.send(Fixture.row("g1", seq: 1, .subscriptionGrant, amount: 500, balance: 500, invoice: "in_1"))
        d.settleAll()
        #expect(stripeIssues(d).isEmpty)
        #expect(d.keyViolations.isEmpty)
    }

    @Test func invoiceGrantAfterTheSettleTime_opensThenResolves() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.invoicePaid("evt_1", invoice: "in_1", amount: 2900, currency: "eur"))
        let opened = d.advance(toMs: t0 + settle)
        #expect(opened.ids == ["invoice-without-grant:in_1"])
        #expect(opened.first?.severity == .error)
        #expect(opened.first?.category == .entitlementDrift)
        #expect(opened.first?.evidence["amountPaid"] == 2900)
        #expect(opened.first?.evidence["currency"] == "eur")
        #expect(opened.first?.userId == "u1")
        let healed = d.send(Fixture.row("g1", seq: 1, .subscriptionGrant, amount: 500, balance: 500, invoice: "in_1"))
        #expect(healed.filter { $0.issueId == "invoice-without-grant:in_1" }.map(\.status) == [.resolved])
        #expect(d.keyViolations.isEmpty)
    }

    @Test func grantCarryingTheInvoiceOnAnotherUser_counts() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.row("g1", user: "u7", seq: 1, .subscriptionGrant, amount: 500, balance: 500, invoice: "in_1"))
        d.send(Fixture.invoicePaid("evt_1", invoice: "in_1"))
        d.settleAll()
        #expect(stripeIssues(d).isEmpty)
    }

    @Test func invoiceThatCallsForNoGrant_opensNothing() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.invoicePaid("evt_1", invoice: "in_0", amount: 0))
        d.send(Fixture.invoicePaid("evt_2", invoice: "in_m", reason: "manual"))
        d.settleAll()
        #expect(stripeIssues(d).isEmpty)
    }

    @Test func severalUsersNamingOneCustomer_eachIsChecked_andTheInvoiceGoesToTheSmallestId() {
        let d = Fixture.driver()
        d.send(Fixture.account(user: "u5", tier: .free, customer: "cus_1", version: 1))
        d.send(Fixture.account(user: "u3", tier: .free, customer: "cus_1", version: 1))
        d.send(Fixture.subscription("evt_1", status: "active"))
        d.send(Fixture.invoicePaid("evt_2", invoice: "in_1"))
        d.settleAll()
        #expect(stripeIssues(d) == ["invoice-without-grant:in_1", "stripe-paid-local-free:u3", "stripe-paid-local-free:u5"])
        #expect(d.open("invoice-without-grant:in_1")?.userId == "u3")
        // u3 moves to another customer: the invoice goes to u5, u3's issue resolves.
        d.send(Fixture.account(user: "u3", tier: .free, customer: "cus_2", version: 2))
        d.settleAll()
        #expect(stripeIssues(d) == ["invoice-without-grant:in_1", "stripe-paid-local-free:u5"])
        #expect(d.open("invoice-without-grant:in_1")?.userId == "u5")
        // Nobody names it any more: the invoice check no longer applies.
        d.send(Fixture.account(user: "u5", tier: .free, customer: nil, version: 2))
        d.settleAll()
        #expect(stripeIssues(d).isEmpty)
        #expect(d.store.get(.stripeCustomer("cus_1"))?.stripeCustomerState?.isUnmapped == true)
        #expect(d.keyViolations.isEmpty)
    }

    @Test func stripeCustomerState_roundTripsInBinary_withItsUserCountAtTheDocumentedByte() throws {
        let d = Fixture.driver()
        d.send(Fixture.subscription("evt_1", customer: "cus_u", status: "active"))
        d.send(Fixture.invoicePaid("evt_2", customer: "cus_u", invoice: "in_u"))
        d.send(Fixture.account(tier: .free, customer: "cus_m", version: 1))
        d.send(Fixture.subscription("evt_3", customer: "cus_m", status: "active"))
        d.send(Fixture.invoicePaid("evt_4", customer: "cus_m", invoice: "in_m"))
        d.settleAll()
        for key in [StateKey.stripeCustomer("cus_u"), .stripeCustomer("cus_m"), .user("u1"), .invoice("in_m")] {
            let state = try #require(d.store.get(key))
            #expect(try EntityState(binary: state.binary) == state, "\(key)")
        }
        let offset = EntityState.stripeCustomerUsersByteOffset
        #expect(d.store.get(.stripeCustomer("cus_u"))!.binary[offset] == 0)
        #expect(d.store.get(.stripeCustomer("cus_m"))!.binary[offset] != 0)
    }
}
