import Shared

/// The evidence an operator action (explain, ack, snooze) was given on: the action holds while the
/// evidence does not worsen beyond it.
public struct ActionBasis: Sendable, Hashable, Codable {
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

extension IssueRepository {
    /// The event a change yields after the issue's latest event (and the basis of its operator
    /// action, if any), or `nil` when nothing changes.
    static func nextEvent(after previous: IssueEvent?, basis: ActionBasis?, for change: IssueChange)
        -> (event: IssueEvent, basis: ActionBasis?)?
    {
        let at = Timestamp.format(change.atMs)
        let version = (previous?.version ?? 0) + 1
        let isOpen = previous?.status == .open
        func next(_ event: IssueEvent) -> IssueEvent {
            var event = event
            event.version = version
            event.cause = change.cause
            event.resurfaced = false
            return event
        }
        switch change.kind {
        case .open:
            let atRisk = change.atRisk ?? change.check.atRisk(evidence: change.evidence)
            if let previous, isOpen {
                guard previous.evidence != change.evidence || previous.title != change.title else { return nil }
                var event = next(previous)
                event.title = change.title
                event.evidence = change.evidence
                event.repair = change.repair
                event.lastSeenAt = at
                event.atRisk = atRisk
                var basis = basis
                if event.hasOperatorAction, (basis ?? ActionBasis(of: previous)).isWorsened(by: event) {
                    // The evidence the action was given on no longer holds: withdraw it.
                    event.explanation = nil
                    event.acknowledgement = nil
                    event.snoozedUntil = nil
                    event.resurfaced = true
                    basis = nil
                }
                return (event, basis)
            }
            // New, or reopened: it starts clean, with no operator action.
            return (
                IssueEvent(
                    issueId: change.issueId, version: version, status: .open, check: change.check,
                    userId: change.userId, title: change.title, evidence: change.evidence, repair: change.repair,
                    firstSeenAt: at, lastSeenAt: at, atRisk: atRisk, cause: change.cause), nil
            )
        case .resolve(let resolution):
            guard let previous, isOpen else { return nil }
            var event = next(previous)
            event.status = .resolved
            event.lastSeenAt = at
            event.resolvedAt = at
            event.resolution = resolution
            return (event, nil)
        case .explain(let explanation):
            guard let previous, isOpen else { return nil }
            var event = withoutAction(next(previous))
            event.explanation = explanation
            return (event, ActionBasis(of: previous))
        case .acknowledge(let acknowledgement):
            guard let previous, isOpen else { return nil }
            var event = withoutAction(next(previous))
            event.acknowledgement = acknowledgement
            return (event, ActionBasis(of: previous))
        case .snooze(let until):
            guard let previous, isOpen else { return nil }
            var event = withoutAction(next(previous))
            event.snoozedUntil = until
            return (event, ActionBasis(of: previous))
        case .snoozeEnded:
            guard let previous, isOpen, previous.snoozedUntil != nil else { return nil }
            var event = next(previous)
            event.snoozedUntil = nil
            return (event, event.hasOperatorAction ? basis : nil)
        }
    }

    /// An issue carries at most one operator action: a new one replaces the previous one.
    private static func withoutAction(_ event: IssueEvent) -> IssueEvent {
        var event = event
        event.explanation = nil
        event.acknowledgement = nil
        event.snoozedUntil = nil
        return event
    }
}
