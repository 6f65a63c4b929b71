import Shared

/// One open issue as the batch oracle (or the issue table) sees it.
public struct OpenIssue: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var issueId: String
    public var check: CheckKind
    public var userId: String?
    public var title: String
    public var evidence: JSONValue
    public var repair: RepairSuggestion?
    public var atRisk: AtRisk

    /// `atRisk` defaults to the contract's table over the evidence (and `duplicateExcess`).
    public init(
        issueId: String, check: CheckKind, userId: String?, title: String, evidence: JSONValue,
        repair: RepairSuggestion?, atRisk: AtRisk? = nil, duplicateExcess: Int64? = nil
    ) {
        self.issueId = issueId
        self.check = check
        self.userId = userId
        self.title = title
        self.evidence = evidence
        self.repair = repair
        self.atRisk = atRisk ?? check.atRisk(evidence: evidence, duplicateExcess: duplicateExcess)
    }

    public var severity: Severity { check.severity }
    public var category: IssueCategory { check.category }
    public var revenueImpacting: Bool { check.revenueImpacting }

    public static func < (lhs: OpenIssue, rhs: OpenIssue) -> Bool { lhs.issueId < rhs.issueId }

    public var description: String {
        "\(issueId) [\(check.rawValue), \(severity.rawValue), user \(userId ?? "-")] \(title) evidence=\(evidence.compactText) atRisk=\(atRisk.credits.map(String.init) ?? "null")/\(atRisk.direction.rawValue)"
    }
}

extension JSONValue {
    /// A compact, key-sorted rendering for messages and diffs (not for the wire).
    public var compactText: String {
        switch self {
        case .null: "null"
        case .bool(let b): b ? "true" : "false"
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .string(let s): "\"\(s)\""
        case .array(let items): "[" + items.map(\.compactText).joined(separator: ",") + "]"
        case .object(let fields):
            "{" + fields.keys.sorted().map { "\($0):\(fields[$0]!.compactText)" }.joined(separator: ",") + "}"
        }
    }
}
