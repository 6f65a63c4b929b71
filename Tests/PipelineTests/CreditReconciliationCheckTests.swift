import CheckPipeline
import Shared
import Testing

@Suite struct CreditReconciliationCheckTests {
    let t0 = Fixture.t0

    @Test func balanceMismatch_opensOnlyAfterSettle_thenResolvesWhenBalancesAgree() {
        let d = Fixture.driver()
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 1200, balance: 1200, event: "e1", intent: "p1"))
        d.send(Fixture.webhook("e1"))
        #expect(d.send(Fixture.account(credits: 1300, version: 1)).isEmpty)
        #expect(d.advance(toMs: t0 + 29_999).isEmpty)
        let opened = d.advance(toMs: t0 + 30_000)
        #expect(opened.ids == ["credit-balance:u1"])
        #expect(opened.first?.evidence == ["balance": 1300, "ledgerBalanceAfter": 1200, "ledgerSeq": 1])
        #expect(opened.first?.repair?.action == .syncBalance)
        #expect(opened.first?.repair?.description == "Set balance to 1200 with an audit row of -100")
        #expect(opened.first?.title == "Balance 1300 differs from ledger balance 1200")
        let healed = d.send(Fixture.account(credits: 1200, version: 2))
        #expect(healed.map(\.status) == [.resolved])
        #expect(healed.first?.resolution == .selfHealed)
        #expect(d.openIssueIds.isEmpty)
    }

    @Test func balanceMismatch_nearMiss_healedWithinSettleNeverOpens() {
        let d = Fixture.driver()
        d.send(Fixture.account(credits: 500, version: 1))
        d.send(Fixture.row("r1", seq: 1, .adjustment, amount: 400, balance: 400), atMs: t0 + 1000)
        d.send(Fixture.row("r2", seq: 2, .adjustment, amount: 100, balance: 500), atMs: t0 + 20_000)
        #expect(d.advance(toMs: t0 + 100_000).isEmpty)
        #expect(d.settleAll().isEmpty)
    }

    @Test func balanceMismatch_updatesEvidenceWhileOpen_andSkipsUnlimitedAccounts() {
        let d = Fixture.driver(settleMs: 0)
        d.send(Fixture.row("r1", seq: 1, .adjustment, amount: 100, balance: 100))
        d.send(Fixture.account(credits: 50, version: 1))
        #expect(d.open("credit-balance:u1") != nil)
        let updated = d.send(Fixture.row("r2", seq: 2, .usage, amount: -10, balance: 90))
        #expect(updated.map(\.status) == [.open])
        #expect(updated.first?.version == 2)
        #expect(updated.first?.evidence["ledgerSeq"] == 2)
        let skipped = d.send(Fixture.account(credits: 50, unlimited: true, version: 2))
        #expect(skipped.contains { $0.issueId == "credit-balance:u1" && $0.status == .resolved })
    }

    @Test func sequenceGap_opensAfterSettle_andResolvesWhenTheRowArrives() {
        let d = Fixture.driver()
        d.send(Fixture.row("r1", seq: 1, amount: 0, balance: 0))
        d.send(Fixture.row("r2", seq: 2, amount: 0, balance: 0))
        d.send(Fixture.row("r4", seq: 4, amount: 0, balance: 0))
        #expect(d.advance(toMs: t0 + 29_999).isEmpty)
        let opened = d.advance(toMs: t0 + 30_000)
        #expect(opened.ids == ["ledger-gap:u1:3"])
        #expect(opened.first?.evidence == ["firstMissingSeq": 3, "lastMissingSeq": 3, "missingCount": 1])
        let healed = d.send(Fixture.row("r3", seq: 3, amount: 0, balance: 0))
        #expect(healed.map(\.status) == [.resolved])
        #expect(d.openIssueIds.isEmpty)
    }

    @Test func sequenceGap_nearMiss_outOfOrderWithinSettleNeverOpens() {
        let d = Fixture.driver()
        d.send(Fixture.row("r2", seq: 2, amount: 5, balance: 5))
        d.send(Fixture.row("r1", seq: 1, amount: 0, balance: 0), atMs: t0 + 29_000)
        #expect(d.advance(toMs: t0 + 60_000).isEmpty)
        #expect(d.openIssueIds.isEmpty)
    }

    @Test func sequenceGap_partialFill_movesTheIssueToTheNewFirstMissingSeq() {
        let d = Fixture.driver(settleMs: 0)
        d.send(Fixture.row("r1", seq: 1, amount: 0, balance: 0))
        d.send(Fixture.row("r6", seq: 6, amount: 0, balance: 0))
        #expect(d.openIssueIds == ["ledger-gap:u1:2"])
        d.send(Fixture.row("r4", seq: 4, amount: 0, balance: 0))
        #expect(d.openIssueIds == ["ledger-gap:u1:2", "ledger-gap:u1:5"])
        #expect(d.open("ledger-gap:u1:2")?.evidence["lastMissingSeq"] == 3)
        d.send(Fixture.row("r2", seq: 2, amount: 0, balance: 0))
        #expect(d.openIssueIds == ["ledger-gap:u1:3", "ledger-gap:u1:5"])
    }

    @Test func arithmeticBreak_firesOnceInEitherArrivalOrder_andNeverSelfHeals() {
        for order in [[1, 2], [2, 1]] {
            let d = Fixture.driver()
            let rows = [
                Fixture.row("r1", seq: 1, .purchase, amount: 100, balance: 100, event: "e1", intent: "p1"),
                Fixture.row("r2", seq: 2, .usage, amount: -30, balance: 80),
            ]
            for i in order { d.send(rows[i - 1]) }
            #expect(d.openIssueIds.contains("ledger-arithmetic:u1:2"))
            #expect(
                d.open("ledger-arithmetic:u1:2")?.evidence
                    == ["seq": 2, "previousBalanceAfter": 100, "amount": -30, "balanceAfter": 80, "expectedBalanceAfter": 70])
            d.send(Fixture.row("r3", seq: 3, .adjustment, amount: -10, balance: 70))
            d.send(rows[1])
            d.settleAll()
            #expect(d.events.filter { $0.issueId == "ledger-arithmetic:u1:2" }.count == 1)
            #expect(d.openIssueIds.contains("ledger-arithmetic:u1:2"))
        }
    }

    @Test func arithmeticBreak_nearMiss_consistentRowsOpenNothing() {
        let d = Fixture.driver()
        d.send(Fixture.row("r2", seq: 2, .usage, amount: -30, balance: 70))
        d.send(Fixture.row("r1", seq: 1, .adjustment, amount: 100, balance: 100))
        d.settleAll()
        #expect(d.openIssueIds.isEmpty)
    }
}
