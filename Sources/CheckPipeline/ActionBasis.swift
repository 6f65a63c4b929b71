import Shared

/// The evidence an operator action (explain, ack, snooze) was given on: the action holds while the
/// evidence does not worsen beyond it.
public struct ActionBasis: Sendable, Hashable, Codable, JSONFields {
    public var credits: Int64?
    /// The size of a duplicate set (duplicate checks only).
    public var rowCount: Int64?
    public var severity: Severity

    public init(of event: IssueEvent) {
        credits = event.atRisk.credits
        rowCount = event.check.isDuplicateSet ? event.evidence.field("rowCount")?.intValue : nil
        severity = event.severity
    }

    /// Whether `event` shows worse evidence than this basis (the contract's *Operator actions*):
    /// `atRisk.credits` grew by more than 10% and by at least 1 credit, a duplicate set gained a
    /// row, or the severity rose.
    public func isWorsened(by event: IssueEvent) -> Bool {
        if event.severity > severity { return true }
        if let before = rowCount, let after = Self(of: event).rowCount, after > before { return true }
        guard let after = event.atRisk.credits else { return false }
        let before = credits ?? 0
        let (growth, overflow) = after.subtractingReportingOverflow(before)
        if overflow { return after > before }
        guard growth >= 1 else { return false }
        // growth > 10% of before, without overflow: growth * 10 > before.
        let (scaled, scaledOverflow) = growth.multipliedReportingOverflow(by: 10)
        return scaledOverflow || scaled > before
    }

    /// The `action_basis` column; nil fields are left out, as the rows have always been written.
    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        if let credits { try v.int("credits", credits) }
        if let rowCount { try v.int("rowCount", rowCount) }
        try v.string("severity", severity.rawValue)
    }
}

extension CheckKind {
    /// The checks whose issue is a set of duplicate ledger rows.
    public var isDuplicateSet: Bool {
        self == .duplicateCreditEvent || self == .duplicatePaymentIntent || self == .duplicateInvoiceGrant
    }
}

extension JSONValue {
    /// A field of an object, else nil.
    public func field(_ name: String) -> JSONValue? {
        if case .object(let fields) = self { fields[name] } else { nil }
    }
}
