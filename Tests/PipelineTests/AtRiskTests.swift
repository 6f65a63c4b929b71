import CheckPipeline
import Shared
import Testing

/// `atRisk` of each check, by the contract's table, as the incremental pipeline emits it.
@Suite struct AtRiskTests {
    let t0 = Fixture.t0

    @Test func balanceMismatch_isTheDifference_leakageWhenCreditsAreHigher_elseCustomerHarm() {
        let d = Fixture.driver(settleMs: 0)
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 500, balance: 500, intent: "p1"))
        let high = d.send(Fixture.account(credits: 800, version: 1))
        #expect(high.first { $0.check == .creditBalanceMismatch }?.atRisk == AtRisk(credits: 300, direction: .leakage))
        let low = d.send(Fixture.account(credits: 200, version: 2))
        #expect(low.first { $0.check == .creditBalanceMismatch }?.atRisk == AtRisk(credits: 300, direction: .customerHarm))
    }

    @Test func arithmeticBreak_isTheDistanceFromTheExpectedBalance_andAnAuditRowExpectsThePreviousBalance() {
        let d = Fixture.driver()
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 100, balance: 100, intent: "p1"))
        let low = d.send(Fixture.row("r2", seq: 2, .usage, amount: -10, balance: 50))
        #expect(low.first { $0.check == .ledgerArithmeticBreak }?.atRisk == AtRisk(credits: 40, direction: .customerHarm))
        let audit = d.send(Fixture.row("r3", seq: 3, .audit, amount: 25, balance: 75))
        #expect(audit.first { $0.check == .ledgerArithmeticBreak }?.atRisk == AtRisk(credits: 25, direction: .leakage))
    }

    @Test func rowIssues_carryTheRowsAmount_andLargeMovementItsMagnitudeInAnUnknownDirection() {
        let d = PipelineDriver(settings: CheckSettings(settleMs: 0, largeMovement: 1000), startMs: t0)
        let purchase = d.send(Fixture.row("r1", seq: 1, .purchase, amount: 70, balance: 70))
        #expect(purchase.first { $0.check == .purchaseWithoutPaymentIntent }?.atRisk == AtRisk(credits: 70, direction: .leakage))
        let grant = d.send(Fixture.row("r2", seq: 2, .subscriptionGrant, amount: 30, balance: 100))
        #expect(grant.first { $0.check == .subscriptionGrantWithoutInvoice }?.atRisk == AtRisk(credits: 30, direction: .leakage))
        let large = d.send(Fixture.row("r3", seq: 3, .usage, amount: -2000, balance: -1900))
        #expect(large.first { $0.check == .largeCreditMovement }?.atRisk == AtRisk(credits: 2000, direction: .unknown))
    }

    @Test func duplicateSet_sumsEveryRowButTheEarliestByCreatedAtThenId() {
        let d = Fixture.driver()
        // Delivered latest first: the earliest (r2, by createdAt) is not counted whatever the order.
        d.send(Fixture.row("r3", user: "u3", seq: 1, .purchase, amount: 400, balance: 400, intent: "p1", at: t0 + 20))
        let opened = d.send(
            Fixture.row("r2", user: "u2", seq: 1, .purchase, amount: 100, balance: 100, intent: "p1", at: t0 + 10))
        #expect(opened.first?.atRisk == AtRisk(credits: 400, direction: .leakage))
        // Same createdAt as r2: the smaller id (r1) is the earliest, so r2 now counts.
        let grown = d.send(
            Fixture.row("r1", user: "u1", seq: 1, .purchase, amount: 700, balance: 700, intent: "p1", at: t0 + 10))
        #expect(grown.first?.atRisk == AtRisk(credits: 500, direction: .leakage))
    }

    @Test func duplicateEvent_countsOnlyPositiveRows() {
        let d = Fixture.driver()
        d.send(Fixture.webhook("e1"))
        d.send(Fixture.row("r1", user: "u1", seq: 1, .adjustment, amount: 100, balance: 100, event: "e1"))
        d.send(Fixture.row("r0", user: "u4", seq: 1, .adjustment, amount: -50, balance: -50, event: "e1"))
        let opened = d.send(Fixture.row("r2", user: "u2", seq: 1, .adjustment, amount: 60, balance: 60, event: "e1", at: t0 + 1))
        #expect(opened.first { $0.check == .duplicateCreditEvent }?.atRisk == AtRisk(credits: 60, direction: .leakage))
    }

    @Test func accountChecks_haveNoAmount_andTierMismatchPointsByTheLocalTier() {
        let d = Fixture.driver()
        let paid = d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "canceled", version: 1))
        #expect(paid.first { $0.check == .tierSubscriptionMismatch }?.atRisk == AtRisk(credits: nil, direction: .leakage))
        let free = d.send(Fixture.account(tier: .free, customer: "cus_1", status: "active", version: 2))
        #expect(free.last { $0.check == .tierSubscriptionMismatch }?.atRisk == AtRisk(credits: nil, direction: .customerHarm))
        let noCustomer = d.send(Fixture.account(tier: .team, customer: nil, version: 3))
        #expect(noCustomer.first { $0.check == .paidTierWithoutCustomer }?.atRisk == AtRisk(credits: nil, direction: .leakage))
        let gate = d.send(Fixture.gate("advanced_exports", [.free]))
        #expect(gate.first?.atRisk == .unknown)
    }

    @Test func atRisk_isEncodedWithAnExplicitNull() throws {
        let event = IssueEvent(
            issueId: "ledger-gap:u1:2", version: 1, status: .open, check: .ledgerSequenceGap, userId: "u1", title: "t",
            evidence: [:], repair: nil, firstSeenAt: "x", lastSeenAt: "x")
        let text = String(decoding: try IssueEventCodingForTests.encode(event), as: UTF8.self)
        #expect(text.contains("\"atRisk\":{\"credits\":null,\"direction\":\"unknown\"}"))
        #expect(text.contains("\"acknowledgement\":null"))
        #expect(text.contains("\"snoozedUntil\":null"))
        #expect(text.contains("\"resurfaced\":false"))
        #expect(text.contains("\"cause\":{\"timer\":true}"))
    }
}

import Foundation

enum IssueEventCodingForTests {
    static func encode(_ event: IssueEvent) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(event)
    }
}
