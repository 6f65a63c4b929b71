import Foundation
import Shared
import Testing
import WorkerRuntime

/// The pure parts of the on-call workflow: the release gate, the report's order and amounts,
/// alerts without acknowledged or snoozed issues, and the lines of `watch`.
@Suite struct OnCallPolicyTests {
    static func issue(
        _ id: String, _ check: CheckKind, credits: Int64? = nil, direction: RiskDirection = .leakage,
        userId: String? = nil
    ) -> IssueEvent {
        var event = AlertPolicyTests.issue(id, check)
        event.userId = userId
        event.atRisk = AtRisk(credits: credits, direction: direction)
        return event
    }

    static let explanation = Explanation(note: "known", actor: "a", commandId: "c1", at: "t")
    static let acknowledgement = Acknowledgement(actor: "a", note: "on it", commandId: "c2", at: "t")

    @Test func gate_blocksOnUnexplainedCritical_notOnceExplained_butStillWhenOnlyAcknowledgedOrSnoozed() {
        var critical = Self.issue("paid-without-customer:u1", .paidTierWithoutCustomer)
        let error = Self.issue("credit-balance:u1", .creditBalanceMismatch)
        let blocked = ReleaseGate.evaluate(openIssues: [critical, error])
        #expect(!blocked.pass)
        #expect(blocked.blockers == [.init(issueId: critical.issueId, reason: .unexplainedCritical)])
        #expect(blocked.lines == ["paid-without-customer:u1: unexplained_critical", "release gate: blocked (1)"])
        critical.acknowledgement = Self.acknowledgement
        #expect(!ReleaseGate.evaluate(openIssues: [critical]).pass)
        critical.acknowledgement = nil
        critical.snoozedUntil = "2999-01-01T00:00:00Z"
        #expect(!ReleaseGate.evaluate(openIssues: [critical]).pass)
        critical.snoozedUntil = nil
        critical.explanation = Self.explanation
        let passed = ReleaseGate.evaluate(openIssues: [critical, error])
        #expect(passed.pass)
        #expect(passed.lines == ["release gate: pass"])
        critical.status = .resolved
        critical.explanation = nil
        #expect(ReleaseGate.evaluate(openIssues: [critical]).pass)
    }

    @Test func gate_blocksOnAnOpenPlanGateEvenWhenExplained_andOnAnyInputStalledIssue() throws {
        var gate = Self.issue("plan-gate:advanced_exports", .planGateRegression)
        gate.explanation = Self.explanation
        // input_stalled issues are matched by their id (the check is added with input health).
        var stalled = Self.issue("input-stalled:webhooks", .ledgerSequenceGap)
        stalled.explanation = Self.explanation
        let answer = ReleaseGate.evaluate(openIssues: [stalled, gate])
        #expect(answer.blockers == [
            .init(issueId: "input-stalled:webhooks", reason: .inputStalled),
            .init(issueId: "plan-gate:advanced_exports", reason: .planGateRegression),
        ])
        let json = String(decoding: try JSONEncoder().encode(answer), as: UTF8.self)
        #expect(json.contains("\"reason\":\"input_stalled\""))
        #expect(json.contains("\"pass\":false"))
    }

    @Test func report_ordersBySeverityThenAmountLargestFirstNullLastThenId_andSumsAtRiskByDirection() {
        let issues = [
            Self.issue("credit-balance:a", .creditBalanceMismatch, credits: 10),
            Self.issue("credit-balance:b", .creditBalanceMismatch, credits: 500, direction: .customerHarm),
            Self.issue("ledger-gap:a:2", .ledgerSequenceGap, credits: nil, direction: .unknown),
            Self.issue("credit-balance:c", .creditBalanceMismatch, credits: 10),
            Self.issue("duplicate-event:e", .duplicateCreditEvent, credits: 5),
            Self.issue("large-credit-movement:r", .largeCreditMovement, credits: 900_000, direction: .unknown),
        ]
        var acked = Self.issue("duplicate-invoice-grant:i", .duplicateInvoiceGrant, credits: 1000)
        acked.acknowledgement = Self.acknowledgement
        let report = AssuranceReport.build(
            openIssues: issues + [acked], counts: .init(checkedUsers: 0, ledgerRows: 0, webhookEvents: 0),
            periodDays: 45, nowMs: 0)
        #expect(report.issues.map(\.issueId) == [
            "duplicate-invoice-grant:i", "duplicate-event:e", "credit-balance:b", "credit-balance:a",
            "credit-balance:c", "ledger-gap:a:2", "large-credit-movement:r",
        ])
        // Acknowledged issues count in the amounts, not in the alerts.
        #expect(report.summary.atRisk.leakageCredits == 10 + 10 + 5 + 1000)
        #expect(report.summary.atRisk.customerHarmCredits == 500)
        #expect(report.summary.alertCount == 5)
        #expect(report.issues.first?.acknowledgement == Self.acknowledgement)
        #expect(report.issues.first?.atRisk == AtRisk(credits: 1000, direction: .leakage))
    }

    @Test func alerts_leaveOutAcknowledgedSnoozedAndExplainedIssues_andCarryTheSumAtRisk() throws {
        let policy = AlertPolicy(dedupWindowSeconds: 60, groupWaitMs: 0)
        var acked = Self.issue("credit-balance:a", .creditBalanceMismatch, credits: 100)
        acked.acknowledgement = Self.acknowledgement
        var snoozed = Self.issue("credit-balance:b", .creditBalanceMismatch, credits: 100)
        snoozed.snoozedUntil = "2999-01-01T00:00:00Z"
        var explained = Self.issue("credit-balance:c", .creditBalanceMismatch, credits: 100)
        explained.explanation = Self.explanation
        let open = [
            Self.issue("credit-balance:d", .creditBalanceMismatch, credits: 70),
            Self.issue("ledger-gap:d:4", .ledgerSequenceGap),
            Self.issue("duplicate-event:e", .duplicateCreditEvent, credits: 30),
        ]
        let worthy = AlertPolicy.alertWorthy([acked, snoozed, explained] + open)
        #expect(worthy.map(\.issueId) == open.map(\.issueId))
        var state = AlertPolicy.State()
        guard case .alert(let alert) = policy.evaluate(worthy, nowMs: 0, state: &state, alertId: { "alrt_1" }) else {
            Issue.record("no alert")
            return
        }
        #expect(alert.atRiskCredits == 100)
        let json = String(decoding: try JSONEncoder().encode(alert), as: UTF8.self)
        #expect(json.contains("\"atRiskCredits\":100"))
    }

    @Test func watch_printsOneLinePerEvent_filtersByUserCheckAndSeverity_andJSONLinesParse() throws {
        let topics = Topics(prefix: "billing.")
        let encoder = JSONEncoder()
        var balance = Self.issue("credit-balance:u1", .creditBalanceMismatch, credits: 100, userId: "u1")
        balance.acknowledgement = Self.acknowledgement
        let other = Self.issue("paid-without-customer:u2", .paidTierWithoutCustomer, userId: "u2")
        let repair = RepairResult(
            commandId: "c2", issueId: "credit-balance:u1", outcome: .acknowledged, action: "ack", processedAt: "t")
        let messages: [(String, [UInt8])] = [
            (topics.issues, Array(try encoder.encode(balance))),
            (topics.issues, Array(try encoder.encode(other))),
            (topics.repairs, Array(try encoder.encode(repair))),
            (topics.issues, Array("not json".utf8)),
        ]
        var all = WatchPrinter(topics: topics, filter: .init(), json: false)
        let lines = messages.compactMap { all.line(topic: $0.0, value: $0.1) }
        #expect(lines.count == 3)
        #expect(lines[0].contains("issue credit-balance:u1 v1 open error credit_balance_mismatch user=u1 atRisk=100 (leakage) [acknowledged]"))
        #expect(lines[2].contains("repair c2 credit-balance:u1 acknowledged"))
        var byUser = WatchPrinter(topics: topics, filter: .init(userId: "u1"), json: false)
        #expect(messages.compactMap { byUser.line(topic: $0.0, value: $0.1) }.count == 2)
        var bySeverity = WatchPrinter(topics: topics, filter: .init(severity: .critical), json: true)
        let json = messages.compactMap { bySeverity.line(topic: $0.0, value: $0.1) }
        #expect(json.count == 1)
        let parsed = try JSONSerialization.jsonObject(with: Data(json[0].utf8)) as? [String: Any]
        #expect(parsed?["kind"] as? String == "issue")
        #expect(parsed?["topic"] as? String == topics.issues)
        #expect((parsed?["event"] as? [String: Any])?["issueId"] as? String == "paid-without-customer:u2")
        var byCheck = WatchPrinter(topics: topics, filter: .init(check: .creditBalanceMismatch), json: false)
        #expect(messages.compactMap { byCheck.line(topic: $0.0, value: $0.1) }.count == 2)
    }
}
