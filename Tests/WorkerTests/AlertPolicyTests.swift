import Shared
import Testing
import WorkerRuntime

/// The alert policy's transitions: group wait, dedup window, suppression counting, empty sets.
@Suite struct AlertPolicyTests {
    let policy = AlertPolicy(dedupWindowSeconds: 60, groupWaitMs: 1000)

    static func issue(_ id: String, _ check: CheckKind = .duplicateCreditEvent, explained: Bool = false) -> IssueEvent {
        var event = IssueEvent(
            issueId: id, version: 1, status: .open, check: check, userId: nil, title: id, evidence: [:], repair: nil,
            firstSeenAt: "2026-11-20T10:00:00.000Z", lastSeenAt: "2026-11-20T10:00:00.000Z")
        if explained { event.explanation = Explanation(note: "known", actor: "a", commandId: "c", at: "t") }
        return event
    }

    func alerts(_ decision: AlertPolicy.Decision) -> AlertEvent? {
        if case .alert(let alert) = decision { return alert }
        return nil
    }

    @Test func evaluate_whenANewSetAppears_waitsTheGroupWaitThenAlertsTheSetAsItStands() {
        var state = AlertPolicy.State()
        let one = [Self.issue("duplicate-event:a")]
        #expect(policy.evaluate(one, nowMs: 0, state: &state, alertId: { "x" }) == .waiting)
        let ten = (0..<10).map { Self.issue("duplicate-event:\($0)") }
        #expect(policy.evaluate(ten, nowMs: 500, state: &state, alertId: { "x" }) == .waiting)
        let alert = alerts(policy.evaluate(ten, nowMs: 1000, state: &state, alertId: { "alrt_1" }))
        #expect(alert?.issueCount == 10)
        #expect(alert?.fingerprint == AlertPolicy.fingerprint(of: ten.map(\.issueId)))
        #expect(alert?.severity == .critical)
        #expect(alert?.windowExpiresAt == "1970-01-01T00:01:01.000Z")
    }

    @Test func evaluate_whenTheSameSetInsideItsWindow_suppressesAndCountsForTheNextAlert() {
        var state = AlertPolicy.State()
        let set = [Self.issue("duplicate-event:a")]
        _ = policy.evaluate(set, nowMs: 0, state: &state, alertId: { "x" })
        #expect(alerts(policy.evaluate(set, nowMs: 1000, state: &state, alertId: { "x" })) != nil)
        #expect(policy.evaluate(set, nowMs: 2000, state: &state, alertId: { "x" }) == .suppressed)
        #expect(policy.evaluate(set, nowMs: 3000, state: &state, alertId: { "x" }) == .suppressed)
        let repeated = alerts(policy.evaluate(set, nowMs: 61_001, state: &state, alertId: { "x" }))
        #expect(repeated?.suppressedSinceLastAlert == 2)
    }

    @Test func evaluate_whenTheSetReturnsToOneAlertedInsideItsWindow_staysQuiet() {
        var state = AlertPolicy.State()
        let a = [Self.issue("duplicate-event:a")]
        let ab = a + [Self.issue("duplicate-event:b")]
        _ = policy.evaluate(a, nowMs: 0, state: &state, alertId: { "x" })
        #expect(alerts(policy.evaluate(a, nowMs: 1000, state: &state, alertId: { "x" })) != nil)
        _ = policy.evaluate(ab, nowMs: 2000, state: &state, alertId: { "x" })
        #expect(alerts(policy.evaluate(ab, nowMs: 3000, state: &state, alertId: { "x" })) != nil)
        _ = policy.evaluate(a, nowMs: 4000, state: &state, alertId: { "x" })
        #expect(policy.evaluate(a, nowMs: 5000, state: &state, alertId: { "x" }) == .suppressed)
    }

    @Test func alertWorthy_leavesOutWarningsNonRevenueAndExplainedIssues() {
        let issues = [
            Self.issue("stale-subscription:u", .stalePaidSubscription),
            Self.issue("plan-gate:f", .planGateRegression),
            Self.issue("large-credit-movement:r", .largeCreditMovement),
            Self.issue("duplicate-event:e", explained: true),
            Self.issue("ledger-gap:u:3", .ledgerSequenceGap),
        ]
        #expect(AlertPolicy.alertWorthy(issues).map(\.issueId) == ["ledger-gap:u:3"])
        var state = AlertPolicy.State()
        #expect(policy.evaluate([], nowMs: 0, state: &state, alertId: { "x" }) == .none)
        #expect(policy.evaluate([], nowMs: 5000, state: &state, alertId: { "x" }) == .none)
    }
}
