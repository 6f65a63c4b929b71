import CheckPipeline
import Shared
import Testing

/// The issue lifecycle the worker ships, through the one reducer (`IssueReducer`) the driver uses too.
@Suite struct IssueLifecycleTests {
    let t0 = Fixture.t0

    /// u1's ledger says 100; an account with `credits` disagrees (settle 0: opens at once).
    func mismatched(_ d: PipelineDriver) {
        d.send(Fixture.row("r1", seq: 1, .adjustment, amount: 100, balance: 100))
        d.send(Fixture.account(credits: 50, version: 1))
    }

    @Test func reopen_startsANewFirstSeenAt_andContinuesTheVersions() {
        let d = Fixture.driver(settleMs: 0)
        mismatched(d)
        #expect(d.issues["credit-balance:u1"]?.firstSeenAt == Timestamp.format(t0))
        let healed = d.send(Fixture.account(credits: 100, version: 2), atMs: t0 + 1_000)
        #expect(healed.map(\.version) == [2])
        #expect(healed.first?.resolvedAt == Timestamp.format(t0 + 1_000))
        let reopened = d.send(Fixture.account(credits: 70, version: 3), atMs: t0 + 5_000)
        #expect(reopened.map(\.issueId) == ["credit-balance:u1"])
        let event = reopened.first
        #expect(event?.version == 3)
        #expect(event?.status == .open)
        #expect(event?.firstSeenAt == Timestamp.format(t0 + 5_000))
        #expect(event?.lastSeenAt == Timestamp.format(t0 + 5_000))
        #expect(event?.resolvedAt == nil)
        #expect(event?.resolution == nil)
        #expect(event?.evidence == ["balance": 70, "ledgerBalanceAfter": 100, "ledgerSeq": 1])
        #expect(event?.userId == "u1")
    }

    @Test func update_keepsUserAndFirstSeenAt_movesLastSeenAt_andReplacesEvidence() {
        let d = Fixture.driver(settleMs: 0)
        mismatched(d)
        let updated = d.send(Fixture.row("r2", seq: 2, .usage, amount: -10, balance: 90), atMs: t0 + 2_000)
        #expect(updated.count == 1)
        let event = updated.first
        #expect(event?.version == 2)
        #expect(event?.status == .open)
        #expect(event?.userId == "u1")
        #expect(event?.firstSeenAt == Timestamp.format(t0))
        #expect(event?.lastSeenAt == Timestamp.format(t0 + 2_000))
        #expect(event?.evidence == ["balance": 50, "ledgerBalanceAfter": 90, "ledgerSeq": 2])
        #expect(event?.title == "Balance 50 differs from ledger balance 90")
        #expect(event?.atRisk == CheckKind.creditBalanceMismatch.atRisk(evidence: event?.evidence ?? .null))
    }

    @Test func reopen_dropsTheOperatorAction() {
        let d = Fixture.driver(settleMs: 0)
        mismatched(d)
        let ack = Acknowledgement(actor: "7", note: "known", commandId: "cmd_1", at: Timestamp.format(t0))
        let acked = d.act([change(.acknowledge(ack), atMs: t0 + 500, cause: .command(commandId: "cmd_1"))])
        #expect(acked.first?.acknowledgement == ack)
        #expect(acked.first?.cause == .command(commandId: "cmd_1"))
        d.send(Fixture.account(credits: 100, version: 2), atMs: t0 + 1_000)
        let reopened = d.send(Fixture.account(credits: 70, version: 3), atMs: t0 + 2_000)
        #expect(reopened.first?.version == 4)
        #expect(reopened.first?.hasOperatorAction == false)
    }

    @Test func noOps_resolveOfAResolvedOrUnknownIssue_openWithTheSameEvidence_actionOnAClosedIssue() {
        let open = IssueReducer.next(after: nil, basis: nil, for: change(.open))!.event
        #expect(open.version == 1)
        #expect(IssueReducer.next(after: nil, basis: nil, for: change(.resolve(.selfHealed))) == nil)
        #expect(IssueReducer.next(after: open, basis: nil, for: change(.update, atMs: t0 + 9)) == nil)
        let resolved = IssueReducer.next(after: open, basis: nil, for: change(.resolve(.repaired)))!.event
        #expect(resolved.resolution == .repaired)
        #expect(resolved.evidence == open.evidence)
        #expect(IssueReducer.next(after: resolved, basis: nil, for: change(.resolve(.selfHealed))) == nil)
        #expect(IssueReducer.next(after: resolved, basis: nil, for: change(.snooze(until: "2030-01-01T00:00:00Z"))) == nil)
        #expect(IssueReducer.next(after: open, basis: nil, for: change(.snoozeEnded)) == nil)
    }

    @Test func update_keepsTheUserWhenTheChangeNamesNone_andTakesTheOneItNames() {
        let open = IssueReducer.next(after: nil, basis: nil, for: change(.open))!.event
        var anonymous = change(.update, credits: 60)
        anonymous.userId = nil
        #expect(IssueReducer.next(after: open, basis: nil, for: anonymous)?.event.userId == "u1")
        var moved = change(.update, credits: 60)
        moved.userId = "u0"
        #expect(IssueReducer.next(after: open, basis: nil, for: moved)?.event.userId == "u0")
    }

    @Test func operatorAction_holdsWhileTheEvidenceDoesNotWorsen_andResurfacesWhenItDoes() {
        let open = IssueReducer.next(after: nil, basis: nil, for: change(.open, credits: 100))!.event
        let note = Explanation(note: "n", actor: "7", commandId: "cmd_1", at: Timestamp.format(t0))
        let explained = IssueReducer.next(after: open, basis: nil, for: change(.explain(note)))!
        #expect(explained.event.explanation == note)
        #expect(explained.basis == ActionBasis(of: open))
        // 10% more is not worse.
        let slightly = IssueReducer.next(after: explained.event, basis: explained.basis, for: change(.update, credits: 110))!
        #expect(slightly.event.explanation == note)
        #expect(slightly.event.resurfaced == false)
        #expect(slightly.basis == explained.basis)
        // More than 10% over the basis (not over the last event) is.
        let worse = IssueReducer.next(after: slightly.event, basis: slightly.basis, for: change(.update, credits: 111))!
        #expect(worse.event.explanation == nil)
        #expect(worse.event.resurfaced == true)
        #expect(worse.basis == nil)
        #expect(worse.event.version == 4)
    }

    @Test func snoozeEnded_clearsTheSnooze_andDropsTheBasis() {
        let open = IssueReducer.next(after: nil, basis: nil, for: change(.open))!.event
        let snoozed = IssueReducer.next(after: open, basis: nil, for: change(.snooze(until: "2030-01-01T00:00:00Z")))!
        #expect(snoozed.event.snoozedUntil == "2030-01-01T00:00:00Z")
        let ended = IssueReducer.next(after: snoozed.event, basis: snoozed.basis, for: change(.snoozeEnded, cause: .timer))!
        #expect(ended.event.snoozedUntil == nil)
        #expect(ended.event.status == .open)
        #expect(ended.basis == nil)
        #expect(ended.event.cause == .timer)
    }

    /// A credit-balance change for u1 whose account holds `credits` against a ledger balance of 0
    /// (so `atRisk.credits` is `credits`).
    func change(
        _ kind: IssueChange.Kind, credits: Int64 = 150, atMs: Int64? = nil, cause: IssueCause = .command(commandId: "c")
    ) -> IssueChange {
        IssueChange(
            issueId: "credit-balance:u1", check: .creditBalanceMismatch, userId: "u1", kind: kind,
            title: "Balance \(credits) differs from ledger balance 0",
            evidence: ["balance": .int(credits), "ledgerBalanceAfter": 0, "ledgerSeq": 1], repair: nil,
            atMs: atMs ?? t0, cause: cause)
    }
}

extension IssueLifecycleTests {
    @Test func anInvoiceMovingToAnotherUser_isAnUpdateEvenWithTheSameEvidence() {
        let open = IssueReducer.next(after: nil, basis: nil, for: change(.open))!.event
        var moved = change(.update)
        moved.userId = "u0"
        let next = IssueReducer.next(after: open, basis: nil, for: moved)?.event
        #expect(next?.userId == "u0")
        #expect(next?.version == 2)
        #expect(next?.evidence == open.evidence)
    }
}
