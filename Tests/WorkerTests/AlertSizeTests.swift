import Foundation
import Shared
import Testing
import WorkerRuntime

/// Alerts stay small whatever the number of issues: at most 200 ids, the highest severity first.
@Suite struct AlertSizeTests {
    @Test func anAlertOverManyIssuesListsAtMost200IdsWithTheFullCountAndFingerprint() throws {
        let policy = AlertPolicy(dedupWindowSeconds: 60, groupWaitMs: 0)
        var issues = (0..<5000).map { AlertPolicyTests.issue("credit-balance:user_\(String(format: "%05d", $0))", .creditBalanceMismatch) }
        issues += (0..<3).map { AlertPolicyTests.issue("duplicate-event:evt_\($0)", .duplicateCreditEvent) }
        var state = AlertPolicy.State()
        guard case .alert(let alert) = policy.evaluate(issues, nowMs: 0, state: &state, alertId: { "alrt_1" }) else {
            Issue.record("no alert")
            return
        }
        #expect(alert.issueIds.count == 200)
        #expect(alert.issueCount == 5003)
        #expect(alert.issueIdsTruncated)
        #expect(alert.fingerprint == AlertPolicy.fingerprint(of: issues.map(\.issueId)))
        // Critical first (the duplicate events), then the errors by id.
        #expect(Array(alert.issueIds.prefix(4)) == [
            "duplicate-event:evt_0", "duplicate-event:evt_1", "duplicate-event:evt_2", "credit-balance:user_00000",
        ])
        let bytes = try JSONEncoder().encode(alert)
        #expect(bytes.count < 900_000)
        let json = try #require(try JSONSerialization.jsonObject(with: bytes) as? [String: Any])
        #expect(json["issueIdsTruncated"] as? Bool == true)

        var small = AlertPolicy.State()
        guard case .alert(let few) = policy.evaluate(Array(issues.suffix(3)), nowMs: 0, state: &small, alertId: { "a" }) else {
            Issue.record("no alert")
            return
        }
        #expect(few.issueIdsTruncated == false && few.issueIds.count == 3)
    }
}
