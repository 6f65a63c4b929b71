import CheckPipeline
import Shared
import Testing

// The Stripe checks are held too (contract, *Input health*): `stripe_paid_local_free` and
// `local_paid_stripe_inactive` on accounts, `paid_invoice_without_grant` on ledger.
extension InputHoldTests {
    @Test func stripePaidLocalFree_isHeldWhileAccountsAreSilent_thenOpensOneSettleTimeAfterTheyResume() throws {
        let d = driver()
        d.send(Fixture.account(tier: .free, customer: "cus_1", version: 1))
        d.send(Fixture.subscription("evt_1", status: "active", .subscriptionCreated), atMs: t0 + 1)
        let deadline = try #require(d.store.get(.user("u1"))?.settleDeadlineMs(settleMs: settle))
        #expect(HeldDeadline.isHeld(deadline))
        #expect(HeldDeadline.checks(deadline) == [.stripePaidLocalFree])
        #expect(d.advance(toMs: t0 + 10 * settle).isEmpty)
        // Another user's snapshot: accounts deliver again, the settle time counts from there.
        let resume = t0 + 10 * settle + 5
        d.send(Fixture.account(user: "u2", tier: .free, customer: nil, version: 1), atMs: resume)
        #expect(d.advance(toMs: resume + settle - 1).isEmpty)
        #expect(d.advance(toMs: resume + settle).ids == ["stripe-paid-local-free:u1"])
    }

    @Test func stripePaidLocalFree_whoseUpgradeArrivesAfterTheSilence_neverOpens() {
        let d = driver()
        d.send(Fixture.account(tier: .free, customer: "cus_1", version: 1))
        d.send(Fixture.subscription("evt_1", status: "active", .subscriptionCreated), atMs: t0 + 1)
        d.advance(toMs: t0 + 10 * settle)
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 2), atMs: t0 + 10 * settle + 1)
        #expect(d.advance(toMs: t0 + 20 * settle).isEmpty)
        #expect(d.settleAll().isEmpty)
    }

    @Test func localPaidStripeInactive_isHeldWhileAccountsAreSilent() throws {
        let d = driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.subscription("evt_1", status: "canceled", .subscriptionDeleted), atMs: t0 + 1)
        let deadline = try #require(d.store.get(.user("u1"))?.settleDeadlineMs(settleMs: settle))
        #expect(HeldDeadline.checks(deadline) == [.localPaidStripeInactive])
        #expect(d.advance(toMs: t0 + 10 * settle).isEmpty)
        // Ledger rows do not release it: it waits on accounts only.
        d.deliver(.ledger, atMs: t0 + 10 * settle)
        #expect(d.advance(toMs: t0 + 20 * settle).isEmpty)
        let resume = t0 + 20 * settle + 1
        d.deliver(.accounts, atMs: resume)
        #expect(d.advance(toMs: resume + settle - 1).isEmpty)
        #expect(d.advance(toMs: resume + settle).ids == ["stripe-inactive-local-paid:u1"])
    }

    @Test func paidInvoiceWithoutGrant_isHeldWhileTheLedgerIsSilent_thenOpensOneSettleTimeAfterItResumes() throws {
        let d = driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.invoicePaid("evt_1", invoice: "in_1"), atMs: t0 + 1)
        let deadline = try #require(d.store.get(.stripeCustomer("cus_1"))?.settleDeadlineMs(settleMs: settle))
        #expect(HeldDeadline.checks(deadline) == [.paidInvoiceWithoutGrant])
        #expect(HeldDeadline.sinceMs(deadline) == t0 + 1)
        d.deliver(.accounts, atMs: t0 + 5 * settle)
        #expect(!HeldDeadline.isReleasable(deadline, clock: d.pipeline.inputs))
        #expect(d.advance(toMs: t0 + 10 * settle).isEmpty)
        // Another user's ledger row: the ledger delivers again.
        let resume = t0 + 10 * settle + 5
        d.send(Fixture.row("r1", user: "u2", seq: 1, .adjustment, amount: 0, balance: 0), atMs: resume)
        #expect(HeldDeadline.isReleasable(deadline, clock: d.pipeline.inputs))
        #expect(d.advance(toMs: resume + settle - 1).isEmpty)
        #expect(d.advance(toMs: resume + settle).ids == ["invoice-without-grant:in_1"])
    }

    @Test func paidInvoiceWithoutGrant_whoseGrantArrivesAfterTheSilence_neverOpens() {
        let d = driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 1))
        d.send(Fixture.invoicePaid("evt_1", invoice: "in_1"), atMs: t0 + 1)
        d.advance(toMs: t0 + 10 * settle)
        d.send(
            Fixture.row("g1", seq: 1, .subscriptionGrant, amount: 500, balance: 500, invoice: "in_1"),
            atMs: t0 + 10 * settle + 1)
        d.advance(toMs: t0 + 20 * settle)
        #expect(d.openIssues.filter { $0.check == .paidInvoiceWithoutGrant }.isEmpty)
        #expect(!d.events.contains { $0.check == .paidInvoiceWithoutGrant })
    }

    @Test func heldCheck_coversEveryWaitingCheck_withTheContractsInputs() {
        #expect(HeldCheck.stripePaidLocalFree.check == .stripePaidLocalFree)
        #expect(HeldCheck.localPaidStripeInactive.check == .localPaidStripeInactive)
        #expect(HeldCheck.paidInvoiceWithoutGrant.check == .paidInvoiceWithoutGrant)
        #expect(HeldCheck.stripePaidLocalFree.inputs == [.accounts])
        #expect(HeldCheck.localPaidStripeInactive.inputs == [.accounts])
        #expect(HeldCheck.paidInvoiceWithoutGrant.inputs == [.ledger])
        #expect(HeldCheck.allCases.map(\.rawValue) == [0, 1, 2, 3, 4, 5])
    }
}
