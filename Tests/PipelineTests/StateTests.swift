import CheckPipeline
import Foundation
import Shared
import Testing

@Suite struct StateTests {
    let t0 = Fixture.t0

    @Test func sameLedgerRowTwice_changesNothing() {
        let d = Fixture.driver()
        let row = Fixture.row("r1", seq: 1, .purchase, amount: 100, balance: 100, event: "e1", intent: "p1")
        d.send(row)
        let before = d.store.states
        d.store.clearChanged()
        #expect(d.send(row).isEmpty)
        #expect(d.store.states == before)
        #expect(d.store.changedKeys.isEmpty)
        #expect(d.dispositions[.duplicateRow] == 1)
    }

    @Test func otherRowAtATakenSeq_isIgnored_firstDeliveryWins() {
        let d = Fixture.driver(settleMs: 0)
        d.send(Fixture.row("r1", seq: 1, .adjustment, amount: 100, balance: 100))
        d.send(Fixture.row("rX", seq: 1, .adjustment, amount: 500_000, balance: 500_000))
        #expect(d.openIssueIds.isEmpty)
        #expect(d.store.get(.user("u1"))?.userState?.ledgerBalance == 100)
    }

    @Test func accountSnapshotWithEqualOrOlderVersion_changesNothing() {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: "cus_1", status: "active", version: 5))
        let before = d.store.states
        d.store.clearChanged()
        #expect(d.send(Fixture.account(tier: .pro, customer: nil, version: 5)).isEmpty)
        #expect(d.send(Fixture.account(tier: .pro, customer: nil, version: 4)).isEmpty)
        #expect(d.store.states == before)
        #expect(d.store.changedKeys.isEmpty)
        #expect(d.dispositions[.outdated] == 2)
    }

    @Test func stateKeys_areCompleteAndHaveAStableStringForm() throws {
        let d = Fixture.driver(settleMs: 0)
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 100, balance: 100, event: "e1", intent: "p1"))
        d.send(Fixture.row("g1", seq: 2, .subscriptionGrant, amount: 100, balance: 200, event: "e2", invoice: "in_1"))
        d.send([Fixture.webhook("e1"), Fixture.account(credits: 7), Fixture.gate("sso", [.pro])])
        #expect(d.keyViolations.isEmpty)
        #expect(
            IssuePipeline.stateKeys(for: Fixture.row("r1", seq: 1, .purchase, amount: 1, balance: 1, event: "e", intent: "p"))
                .map(\.stringValue) == ["user:u1", "stripe_event:e", "payment_intent:p"])
        for key in d.store.keys {
            #expect(StateKey(stringValue: key.stringValue) == key)
        }
        #expect(StateKey(stringValue: "user:a:b") == .user("a:b"))
        #expect(StateKey(stringValue: "nope:x") == nil)
    }

    @Test func entityStates_roundTripThroughJSON() throws {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, customer: nil, status: "active", version: 1))
        d.send(Fixture.row("r1", seq: 1, .subscriptionGrant, amount: 100, balance: 100, event: "e1", invoice: "in_1"))
        d.send(Fixture.row("r3", seq: 3, .purchase, amount: 100, balance: 200, event: "e1", intent: "p1"))
        d.send(Fixture.gate("sso", [.pro]))
        for (key, state) in d.store.states {
            let data = try JSONEncoder().encode(state)
            let back = try JSONDecoder().decode(EntityState.self, from: data)
            #expect(back == state, "\(key)")
        }
        // Reloaded into a fresh store, the pipeline carries on exactly where it stopped.
        let reloaded = InMemoryStateStore()
        for (key, state) in d.store.states {
            reloaded.load(key, try JSONDecoder().decode(EntityState.self, from: JSONEncoder().encode(state)))
        }
        let pipeline = IssuePipeline()
        let out = pipeline.tick(keys: reloaded.keys.sorted(), nowMs: .max, watermarkMs: d.watermarkMs, store: reloaded)
        let expected = d.pipeline.tick(keys: d.store.keys.sorted(), nowMs: .max, watermarkMs: d.watermarkMs, store: d.store)
        #expect(out == expected)
        #expect(reloaded.states == d.store.states)
    }

    @Test func userState_doesNotGrowWithTheLedger() throws {
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, credits: 0, customer: "cus_1", status: "active", version: 1))
        var balance: Int64 = 0
        for seq in Int64(1)...5_000 {
            balance += 3
            d.send(Fixture.row("r\(seq)", seq: seq, .adjustment, amount: 3, balance: balance, at: t0 + seq))
        }
        let state = try #require(d.store.get(.user("u1"))?.userState)
        #expect(state.highestSeq == 5_000)
        #expect(state.holeCount == 0)
        let size = try JSONEncoder().encode(EntityState.user(state)).count
        #expect(size < 1_000, "encoded user state is \(size) bytes")
    }

    @Test func deadlines_areExposedForTheSweeper() throws {
        let settings = CheckSettings(settleMs: 30_000, periodDays: 45)
        let d = Fixture.driver()
        d.send(Fixture.account(tier: .pro, credits: 1, customer: "cus_1", status: "active", at: t0, version: 1))
        d.send(Fixture.row("r2", seq: 2, .adjustment, amount: 0, balance: 1), atMs: t0 + 5)
        let user = try #require(d.store.get(.user("u1")))
        #expect(user.settleDeadlineMs(settleMs: settings.settleMs) == t0 + 5 + 30_000)
        #expect(user.staleAtEventMs(periodMs: settings.periodMs) == t0 + settings.periodMs + 1)
        d.send(Fixture.row("r1", seq: 1, .purchase, amount: 1, balance: 1, event: "e9", intent: "p9"), atMs: t0 + 7)
        let event = try #require(d.store.get(.stripeEvent("e9")))
        #expect(event.settleDeadlineMs(settleMs: settings.settleMs) == t0 + 7 + 30_000)
        #expect(d.store.dueKeys(nowMs: t0 + 30_006, watermarkMs: t0, settings: settings) == [])
        #expect(d.store.dueKeys(nowMs: t0 + 30_007, watermarkMs: t0, settings: settings) == [.stripeEvent("e9")])
    }

    @Test func repairRecords_appliedThroughApply_healTheIssue() {
        // sync_balance writes an AUDIT row (amount = the delta, balance_after = the new balance,
        // next seq) and sets users.credits. The AUDIT row's amount corrects users.credits, not the
        // ledger, so the arithmetic check holds it to balance_after == the previous balance_after.
        let d = Fixture.driver(settleMs: 0)
        d.send(Fixture.row("r1", seq: 1, .adjustment, amount: 1200, balance: 1200))
        d.send(Fixture.account(credits: 1300, version: 1))
        #expect(d.openIssueIds == ["credit-balance:u1"])
        let next = (d.store.get(.user("u1"))?.userState?.highestSeq ?? 0) + 1
        d.send(Fixture.row("audit1", seq: next, .audit, amount: -100, balance: 1200))
        d.send(Fixture.account(credits: 1200, version: 2))
        #expect(d.issues["credit-balance:u1"]?.status == .resolved)
        #expect(d.openIssueIds == [])
        // An AUDIT row that does move the ledger balance is still a break.
        d.send(Fixture.row("audit2", seq: next + 1, .audit, amount: 0, balance: 1250))
        #expect(d.openIssueIds.contains("ledger-arithmetic:u1:\(next + 1)"))
    }
}
