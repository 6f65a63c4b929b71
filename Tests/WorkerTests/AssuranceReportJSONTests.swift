import Foundation
import Shared
import Testing
@testable import WorkerRuntime

/// The report's answer comes from `JSONWriter`: it must mean what `JSONEncoder` wrote before.
@Suite struct AssuranceReportJSONTests {
    static func issue(_ index: Int, check: CheckKind) -> IssueEvent {
        IssueEvent(
            issueId: "\(check.rawValue):user_\(index)/\"x\"\n", version: Int64(index), status: .open, check: check,
            userId: index % 3 == 0 ? nil : "user_\(index) é😀\u{1}", title: "Balance \(index) \\ differs",
            evidence: ["balance": .int(Int64(index)), "ratio": .double(0.1 * Double(index)), "whole": .double(2.0),
                       "tiny": .double(-0.0), "big": .double(1e300), "list": [nil, true, "a/b"]],
            repair: index % 2 == 0 ? nil : RepairSuggestion(action: .syncBalance, description: "d/\(index)"),
            firstSeenAt: "2026-11-20T10:00:00Z", lastSeenAt: "2026-11-20T10:00:01.5Z",
            explanation: index % 4 == 1 ? Explanation(note: "n\t", actor: "a", commandId: "c", at: "t") : nil,
            atRisk: AtRisk(credits: index % 5 == 0 ? nil : Int64(index) * 100, direction: .leakage),
            acknowledgement: index % 4 == 2 ? Acknowledgement(actor: "a", note: "n", commandId: "c", at: "t") : nil,
            snoozedUntil: index % 4 == 3 ? "2026-11-21T00:00:00Z" : nil)
    }

    static func report(bootstrap: AssuranceReport.LastBootstrap.Run?) -> AssuranceReport {
        let issues = (0..<60).map { issue($0, check: CheckKind.allCases[$0 % CheckKind.allCases.count]) }
        return AssuranceReport.build(
            openIssues: issues, counts: .init(checkedUsers: 7, ledgerRows: 8, webhookEvents: 9, unmappedStripeCustomers: 1),
            periodDays: 45, nowMs: 1_763_632_800_000, heldChecks: ["a", "b/c"], bootstrap: bootstrap)
    }

    /// Read and written again with sorted keys: equal for texts that mean the same.
    static func canonical(_ text: Data) throws -> Data {
        try JSONSerialization.data(withJSONObject: JSONSerialization.jsonObject(with: text), options: [.sortedKeys])
    }

    @Test("the written report decodes to the report and means what JSONEncoder writes", arguments: [false, true])
    func sameAsFoundation(withBootstrap: Bool) throws {
        let report = Self.report(bootstrap: withBootstrap ? .init(lastRunAt: "2026-11-20T09:00:00Z", rows: 12) : nil)
        let bytes = report.jsonBytes()
        var expected = report
        for index in expected.issues.indices {
            // Whole doubles are written without `.0` and read back as integers, by Foundation too.
            expected.issues[index].evidence = try JSONDecoder().decode(
                JSONValue.self, from: JSONEncoder().encode(report.issues[index].evidence))
        }
        #expect(try JSONDecoder().decode(AssuranceReport.self, from: Data(bytes)) == expected)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        #expect(try Self.canonical(Data(bytes)) == Self.canonical(encoder.encode(report)))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        let summary = try #require(object["summary"] as? [String: Any])
        #expect(withBootstrap ? summary["bootstrap"] is [String: Any] : summary["bootstrap"] is NSNull)
        // Every issue lists every key, nulls included, in the CodingKeys' order.
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"generatedAt":"2025-11-20T10:00:00.000Z","summary":{"status":""#))
        #expect(text.contains(#","acknowledgement":null,"snoozedUntil":null}"#))
        let issues = try #require(object["issues"] as? [[String: Any]])
        #expect(issues.count == 60)
        #expect(issues.allSatisfy { Set($0.keys) == Set(AssuranceReport.Issue.CodingKeys.allCases.map(\.stringValue)) })
    }
}
