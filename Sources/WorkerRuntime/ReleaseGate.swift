import Foundation
import Persistence
import Shared

/// The answer of `GET …/release-gate` and `assure-worker gate`: may a billing-related deploy go out?
public struct ReleaseGate: Sendable, Hashable, Codable {
    /// One open issue that blocks the release, and why.
    public struct Blocker: Sendable, Hashable, Codable {
        public enum Reason: String, Sendable, Hashable, Codable {
            case unexplainedCritical = "unexplained_critical"
            case planGateRegression = "plan_gate_regression"
            case inputStalled = "input_stalled"
        }

        public var issueId: String
        public var reason: Reason

        public init(issueId: String, reason: Reason) {
            self.issueId = issueId
            self.reason = reason
        }
    }

    public var pass: Bool
    public var blockers: [Blocker]

    public init(blockers: [Blocker]) {
        self.pass = blockers.isEmpty
        self.blockers = blockers
    }

    /// Input-stalled issues, matched by id so the gate holds whichever check raises them.
    public static let inputStalledPrefix = "input-stalled:"

    /// The gate over the open issues: blocked by any open plan-gate or input-stalled issue
    /// (explained or not), and by any open critical issue without an explanation (an
    /// acknowledgement or snooze does not clear it). Blockers ordered by issue id.
    public static func evaluate(openIssues: [IssueEvent]) -> ReleaseGate {
        var blockers: [Blocker] = []
        for issue in openIssues where issue.status == .open {
            if issue.check == .planGateRegression {
                blockers.append(Blocker(issueId: issue.issueId, reason: .planGateRegression))
            } else if issue.issueId.hasPrefix(inputStalledPrefix) {
                blockers.append(Blocker(issueId: issue.issueId, reason: .inputStalled))
            } else if issue.severity == .critical, issue.explanation == nil {
                blockers.append(Blocker(issueId: issue.issueId, reason: .unexplainedCritical))
            }
        }
        return ReleaseGate(blockers: blockers.sorted { $0.issueId < $1.issueId })
    }

    /// The lines `assure-worker gate` prints: one per blocker, then the verdict.
    public var lines: [String] {
        blockers.map { "\($0.issueId): \($0.reason.rawValue)" }
            + [pass ? "release gate: pass" : "release gate: blocked (\(blockers.count))"]
    }
}

/// `GET …/issues/{issueId}`: the issue's latest event plus `history`, every event in version order.
public struct IssueHistory: Sendable, Hashable, Encodable {
    public var latest: IssueEvent
    public var history: [IssueEvent]

    enum CodingKeys: String, CodingKey { case history }

    public func encode(to encoder: any Encoder) throws {
        try latest.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(history, forKey: .history)
    }
}

/// `GET …/users/{userId}/timeline`.
public struct UserTimeline: Sendable, Hashable, Encodable {
    public var userId: String
    public var entries: [TimelineEntry]

    /// The answer's JSON, each entry's `data` passed through as stored (see `TimelineEntry.appendJSON`).
    public func json() throws -> String {
        var out = #"{"userId":"#
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        out += String(decoding: try encoder.encode(userId), as: UTF8.self)
        out += #","entries":["#
        for (index, entry) in entries.enumerated() {
            if index > 0 { out += "," }
            entry.appendJSON(to: &out)
        }
        out += "]}"
        return out
    }
}
