import CheckPipeline
import Shared
import Testing

/// `ASSURE_LEDGER_BASELINE`: where a user's ledger is expected to start.
@Suite struct LedgerBaselineTests {
    let t0 = Fixture.t0

    static func driver(_ baseline: LedgerBaseline, settleMs: Int64 = 30_000) -> PipelineDriver {
        PipelineDriver(settings: CheckSettings(settleMs: settleMs, ledgerBaseline: baseline), startMs: Fixture.t0)
    }

    /// Rows `seqs` of user u1, each adding 10 credits to a balance that starts at 10 × seq.
    static func rows(_ seqs: some Sequence<Int64>) -> [BillingRecord] {
        seqs.map { Fixture.row("r\($0)", seq: $0, .adjustment, amount: 10, balance: 10 * $0) }
    }

    @Test func firstSeen_ledgerStartingAtSeq500_hasNoGap() {
        let d = Self.driver(.firstSeen)
        d.send(Self.rows(500...520))
        #expect(d.advance(toMs: t0 + 60_000).isEmpty)
        #expect(d.settleAll().isEmpty)
    }

    @Test func full_ledgerStartingAtSeq500_opensTheGapBelowIt() {
        let d = Self.driver(.full)
        d.send(Self.rows(500...520))
        d.advance(toMs: t0 + 30_000)
        #expect(d.openIssueIds == ["ledger-gap:u1:1"])
        #expect(d.open("ledger-gap:u1:1")?.evidence["lastMissingSeq"] == 499)
    }

    @Test func firstSeen_holeAboveTheFirstSeq_stillOpensAGap() {
        let d = Self.driver(.firstSeen)
        d.send(Self.rows([500, 501, 503, 504]))
        #expect(d.advance(toMs: t0 + 29_999).isEmpty)
        let opened = d.advance(toMs: t0 + 30_000)
        #expect(opened.ids == ["ledger-gap:u1:502"])
        let healed = d.send(Self.rows([502]))
        #expect(healed.map(\.status) == [.resolved])
        #expect(d.openIssueIds.isEmpty)
    }

    @Test func firstSeen_lowerSeqArrivingLater_lowersTheBaseline_andTheHoleAboveItCountsFromThen() {
        let d = Self.driver(.firstSeen)
        d.send(Self.rows(500...502))
        // Seq 400 arrives later: 401–499 are now missing, counted from this moment.
        d.send(Self.rows([400])[0], atMs: t0 + 20_000)
        #expect(d.advance(toMs: t0 + 49_999).isEmpty)
        let opened = d.advance(toMs: t0 + 50_000)
        #expect(opened.ids == ["ledger-gap:u1:401"])
        #expect(opened.first?.evidence["lastMissingSeq"] == 499)
        // Rows below the new baseline are still not gaps; the hole above heals when its rows arrive.
        d.send(Self.rows(401...499))
        #expect(d.openIssueIds.isEmpty)
        #expect(d.settleAll().isEmpty)
    }

    @Test func firstSeen_baselineIsKeptAcrossRestarts_inTheStoredUserState() throws {
        let settings = CheckSettings(settleMs: 30_000, ledgerBaseline: .firstSeen)
        let before = PipelineDriver(settings: settings, startMs: t0)
        before.send(Self.rows(500...510))
        // A restart: the states go through their stored (binary) form into a fresh driver.
        let restored = InMemoryStateStore()
        for (key, state) in before.store.states { restored.load(key, try EntityState(binary: state.binary)) }
        let after = PipelineDriver(settings: settings, store: restored, startMs: t0 + 1_000)
        after.send(Self.rows(511...515))
        #expect(after.advance(toMs: t0 + 100_000).isEmpty)
        // A lower seq after the restart still lowers the baseline (and opens the hole above it).
        after.send(Self.rows([300]))
        after.advance(toMs: t0 + 200_000)
        #expect(after.openIssueIds == ["ledger-gap:u1:301"])
    }

    @Test func firstSeen_incrementalPipelineAgreesWithTheOracle_onSeededRandomStreams() {
        var settings = StreamGenerator.settings
        settings.ledgerBaseline = .firstSeen
        for seed in 1...UInt64(150) {
            let outcome = DifferentialTests.run(seed: seed, users: Array(0..<DifferentialTests.users), settings: settings)
            if let difference = DifferentialTests.firstDifference(outcome) {
                Issue.record("seed \(seed) differs under first-seen:\n\(difference)")
                return
            }
        }
    }
}
