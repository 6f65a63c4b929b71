import CheckPipeline
import Shared
import Testing

/// A user's remembered seq runs are capped (`UserState.maxSeqRuns`): one user writing every other
/// seq keeps a bounded state, the holes beyond the cap are reported in the gap issues' evidence.
@Suite struct SeqRunCapTests {
    let t0 = Fixture.t0
    /// Holes made beyond the cap by the hostile stream below.
    static let excess: Int64 = 101
    static let cap = Int64(UserState.maxSeqRuns)

    /// Seqs 1, 3, 5, …: every other seq is missing, so each row opens a new run.
    static var everyOtherSeq: [BillingRecord] {
        (0..<(cap + excess)).map { i in
            let seq = 1 + 2 * i
            return Fixture.row("r\(seq)", seq: seq, .adjustment, amount: 10, balance: 10 * seq)
        }
    }

    @Test func everyOtherSeq_keepsAtMostTheCapOfRuns_andReportsTheUntrackedHoles() throws {
        let d = PipelineDriver(settings: CheckSettings(settleMs: 30_000), startMs: t0)
        d.send(Self.everyOtherSeq)
        let opened = d.advance(toMs: t0 + 30_000)
        // Runs 1, 3, …: the lowest `excess` holes were folded away, the cap - 1 above them are tracked.
        #expect(opened.count == Int(Self.cap) - 1)
        #expect(opened.allSatisfy { $0.check == .ledgerSequenceGap })
        let lowest = Self.excess * 2 + 2
        #expect(opened.first?.issueId == "ledger-gap:u1:\(lowest)")
        let evidence = try #require(opened.first?.evidence)
        #expect(evidence["untrackedHoles"] == .int(Self.excess))
        #expect(evidence["untrackedMissingSeqs"] == .int(Self.excess))
        #expect(evidence["missingCount"] == 1)

        // The stored state stays bounded and keeps the untracked count across a restart.
        let user = try #require(d.store.states.first { $0.key == .user("u1") }?.value)
        let restored = try EntityState(binary: user.binary)
        #expect(restored == user)
        #expect(restored.userState?.holeCount == Int(Self.cap) - 1)
    }

    @Test func aRowInsideAnUntrackedHole_isIgnored_aRowInATrackedHoleHealsIt() {
        let d = PipelineDriver(settings: CheckSettings(settleMs: 30_000), startMs: t0)
        d.send(Self.everyOtherSeq)
        d.advance(toMs: t0 + 30_000)
        let before = d.openIssueIds.count
        // Seq 2 lies in the lowest, folded hole: it counts as seen, nothing changes.
        #expect(d.send([Fixture.row("late2", seq: 2, .adjustment, amount: 10, balance: 20)]).isEmpty)
        // The lowest tracked hole heals when its row arrives.
        let seq = Self.excess * 2 + 2
        let healed = d.send([Fixture.row("late\(seq)", seq: seq, .adjustment, amount: 10, balance: 10 * seq)])
        #expect(healed.map(\.issueId) == ["ledger-gap:u1:\(seq)"])
        #expect(healed.map(\.status) == [.resolved])
        #expect(d.openIssueIds.count == before - 1)
    }

    @Test func anIssueOpenForAHoleThatIsFoldedAway_staysOpen() {
        let d = PipelineDriver(settings: CheckSettings(settleMs: 30_000), startMs: t0)
        let rows = Self.everyOtherSeq
        // The first holes open as issues before the rest of the stream arrives.
        d.send(Array(rows.prefix(10)))
        let early = d.advance(toMs: t0 + 30_000)
        #expect(early.ids.contains("ledger-gap:u1:2"))
        let later = rows.dropFirst(10).flatMap { d.send($0, atMs: t0 + 31_000) }
        // Folding resolves nothing: the hole is not healed, it is only no longer tracked.
        #expect(!later.contains { $0.status == .resolved })
        #expect(d.openIssueIds.contains("ledger-gap:u1:2"))
    }

    @Test func theOracleFollowsTheSameCap() {
        let d = PipelineDriver(settings: CheckSettings(settleMs: 30_000), startMs: t0)
        let rows = Self.everyOtherSeq
        d.send(rows)
        d.settleAll()
        let ledger = rows.compactMap { record -> LedgerRow? in
            if case .ledger(let row) = record { row } else { nil }
        }
        let oracle = BatchOracle.evaluate(
            ledger: ledger, accounts: [], webhooks: [], gates: [], watermarkMs: d.watermarkMs,
            settings: CheckSettings(settleMs: 30_000))
        #expect(Set(oracle.map(\.issueId)) == Set(d.openIssueIds))
        #expect(oracle.sorted { $0.issueId < $1.issueId } == d.openIssues.sorted { $0.issueId < $1.issueId })
    }
}
