import Shared

/// One change of an issue: what the pipeline decides (open, update, self-healed resolve), what a
/// repair decides (the `repaired` resolve) and the operator actions. `IssueReducer` turns it, with the
/// issue's latest event, into the issue's next event.
///
/// The reducer owns versions, `firstSeenAt`, status and operator actions; a change carries the rest.
public struct IssueChange: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The condition holds: opens the issue (or reopens it, or updates it when it is open).
        case open
        /// The condition still holds with other evidence. The pipeline's word for it; the reducer
        /// treats it as `open`, since only the stored issue knows whether it is open.
        case update
        /// The condition no longer holds (`selfHealed`, from the pipeline), or a repair fixed it (`repaired`).
        case resolve(Resolution)
        /// An incident note; the issue stays open.
        case explain(Explanation)
        /// An operator's acknowledgement; the issue stays open.
        case acknowledge(Acknowledgement)
        /// Out of alerts until the given RFC 3339 time.
        case snooze(until: String)
        /// The snooze ran out: its `snoozedUntil` is cleared (no-op unless snoozed).
        case snoozeEnded
    }

    public var issueId: String
    public var check: CheckKind
    public var userId: String?
    public var kind: Kind
    /// Title, evidence and repair are read by `open`/`update` only; a resolve keeps the last ones emitted.
    public var title: String
    public var evidence: JSONValue
    public var repair: RepairSuggestion?
    /// Processing time of the apply, tick or command that decided it.
    public var atMs: Int64
    /// The duplicate-set sum of a duplicate check (see `CheckKind.atRisk`), else nil.
    public var duplicateExcess: Int64?
    /// What produced the change; it becomes the event's `cause`.
    public var cause: IssueCause

    public init(
        issueId: String, check: CheckKind, userId: String?, kind: Kind, title: String = "", evidence: JSONValue = .null,
        repair: RepairSuggestion? = nil, atMs: Int64, duplicateExcess: Int64? = nil, cause: IssueCause = .timer
    ) {
        self.issueId = issueId
        self.check = check
        self.userId = userId
        self.kind = kind
        self.title = title
        self.evidence = evidence
        self.repair = repair
        self.atMs = atMs
        self.duplicateExcess = duplicateExcess
        self.cause = cause
    }

    /// The same change, produced by `cause` (the pipeline does not know its input record).
    public func caused(by cause: IssueCause) -> IssueChange {
        var change = self
        change.cause = cause
        return change
    }

    /// What the issue puts at risk with this evidence, by the contract's table.
    public var atRisk: AtRisk { check.atRisk(evidence: evidence, duplicateExcess: duplicateExcess) }

    public var category: IssueCategory { check.category }
    public var severity: Severity { check.severity }
    public var revenueImpacting: Bool { check.revenueImpacting }
    /// `true` for issues attached to one immutable ledger row: opened once, never resolved by the pipeline.
    public var isRowIssue: Bool { check.isRowIssue }
}

extension CheckKind {
    /// Issues attached to one immutable ledger row, or decided once at settle time: emitted once,
    /// never self-healing, not tracked in state.
    public var isRowIssue: Bool {
        switch self {
        case .purchaseWithoutPaymentIntent, .subscriptionGrantWithoutInvoice, .largeCreditMovement,
            .freeUserSubscriptionGrant, .ledgerArithmeticBreak:
            true
        default: false
        }
    }
}
