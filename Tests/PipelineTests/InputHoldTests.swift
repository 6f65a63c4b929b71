import CheckPipeline
import Shared
import Testing

/// Held checks (contract, *Input health*): a check waiting on an input neither opens nor resolves
/// for a record while that input has delivered nothing since the record was applied; its deadline
/// moves to the moment the input delivers again plus the settle time.
@Suite struct InputHoldTests {
    let t0 = Fixture.t0
    let settle: Int64 = 30_000

    func driver() -> PipelineDriver {
        PipelineDriver(settings: CheckSettings(settleMs: settle), startMs: Fixture.t0, trackInputs: true)
    }

    @Test func missingWebhook_isHeldWhileWebhooksAreSilent_thenOpensOneSettleTimeAfterTheyResume() {
        let d = driver()
        d.send(Fixture.webhook("e0"))
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 10, balance: 10, event: "e1", intent: "p1"), atMs: t0 + 1)
        #expect(d.advance(toMs: t0 + 10 * settle).isEmpty)
        // Webhook records flow again (not e1's): the deadline is the resume time plus the settle time.
        let resume = t0 + 10 * settle + 5
        d.send(Fixture.webhook("e2"), atMs: resume)
        #expect(d.advance(toMs: resume + settle - 1).isEmpty)
        #expect(d.advance(toMs: resume + settle).ids == ["webhook-missing:e1"])
    }

    @Test func missingWebhook_whoseRecordArrivesAfterTheStall_neverOpens() {
        let d = driver()
        d.send(Fixture.webhook("e0"))
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 10, balance: 10, event: "e1", intent: "p1"), atMs: t0 + 1)
        d.advance(toMs: t0 + 10 * settle)
        d.send(Fixture.webhook("e1"), atMs: t0 + 10 * settle + 1)
        #expect(d.advance(toMs: t0 + 20 * settle).isEmpty)
        #expect(d.settleAll().isEmpty)
    }

    @Test func heldDeadline_namesItsCheck_andIsReleasedOnlyByItsInputs() throws {
        let d = driver()
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 10, balance: 10, event: "e1", intent: "p1"))
        let state = try #require(d.store.get(.stripeEvent("e1")))
        let deadline = try #require(state.settleDeadlineMs(settleMs: settle))
        #expect(HeldDeadline.isHeld(deadline))
        #expect(HeldDeadline.checks(deadline) == [.missingIdempotencyRecord])
        #expect(HeldDeadline.sinceMs(deadline) == t0)
        d.deliver(.ledger, atMs: t0 + 100)
        #expect(!HeldDeadline.isReleasable(deadline, clock: d.pipeline.inputs))
        d.deliver(.webhooks, atMs: t0 + 200)
        #expect(HeldDeadline.isReleasable(deadline, clock: d.pipeline.inputs))
    }

    @Test func balanceMismatch_isHeldUntilLedgerAndAccountsBothDeliverAgain() {
        let d = driver()
        d.send(Fixture.row("r1", seq: 1, .adjustment, amount: 100, balance: 100))
        d.send(Fixture.account(credits: 100, version: 1), atMs: t0 + 1)
        // The account's credits change; no ledger row follows.
        d.send(Fixture.account(credits: 150, version: 2), atMs: t0 + 2)
        #expect(d.advance(toMs: t0 + 10 * settle).isEmpty)
        d.deliver(.accounts, atMs: t0 + 10 * settle)
        #expect(d.advance(toMs: t0 + 20 * settle).isEmpty)
        let resume = t0 + 20 * settle + 1
        d.deliver(.ledger, atMs: resume)
        #expect(d.advance(toMs: resume + settle - 1).isEmpty)
        #expect(d.advance(toMs: resume + settle).ids == ["credit-balance:u1"])
    }

    @Test func sequenceGap_isHeldWhileTheLedgerIsSilent() {
        let d = driver()
        d.send(Fixture.row("r1", seq: 1, amount: 0, balance: 0))
        d.send(Fixture.row("r3", seq: 3, amount: 0, balance: 0), atMs: t0 + 1)
        #expect(d.advance(toMs: t0 + 10 * settle).isEmpty)
        let resume = t0 + 10 * settle + 1
        d.deliver(.ledger, atMs: resume)
        #expect(d.advance(toMs: resume + settle - 1).isEmpty)
        #expect(d.advance(toMs: resume + settle).ids == ["ledger-gap:u1:2"])
    }

    @Test func flowingInputs_holdNothing_checksOpenAfterTheSettleTime() {
        let d = driver()
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 10, balance: 10, event: "e1", intent: "p1"))
        d.send(Fixture.webhook("e9"), atMs: t0 + 10)
        #expect(d.advance(toMs: t0 + settle + 9).isEmpty)
        #expect(d.advance(toMs: t0 + settle + 10).ids == ["webhook-missing:e1"])
    }

    @Test func inputClock_firstDeliveryAfterAMoment_usesTheRecordedSilences() {
        let clock = InputClock.tracked([
            .webhooks: .init(lastDeliveredMs: 900, silences: [.init(fromMs: 100, resumedAtMs: 500)])
        ])
        #expect(clock.firstDelivery(of: .webhooks, after: 200) == 500)
        #expect(clock.firstDelivery(of: .webhooks, after: 600) == 600)
        #expect(clock.firstDelivery(of: .webhooks, after: 900) == nil)
        #expect(clock.firstDelivery(of: .ledger, after: 0) == nil)
        #expect(InputClock.untracked.firstDelivery(of: .ledger, after: 42) == 42)
    }
}
