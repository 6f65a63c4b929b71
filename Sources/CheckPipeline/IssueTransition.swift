import Shared

/// One change of an issue decided by the pipeline: open, update (evidence changed) or resolve.
///
/// The worker owns issue versions, `firstSeenAt` and explanations; a transition carries the rest
/// of the contract's issue event. `resolve` always means `self_healed` and carries the evidence
/// last emitted for the issue.
public struct IssueTransition: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable, Codable {
        case open, update, resolve
    }

    public var issueId: String
    public var check: CheckKind
    public var userId: String?
    public var kind: Kind
    public var title: String
    public var evidence: JSONValue
    public var repair: RepairSuggestion?
    /// Processing time of the apply or tick that decided it.
    public var atMs: Int64
    /// The duplicate-set sum of a duplicate check (see `CheckKind.atRisk`), else nil.
    public var duplicateExcess: Int64?

    public init(
        issueId: String, check: CheckKind, userId: String?, kind: Kind, title: String, evidence: JSONValue,
        repair: RepairSuggestion?, atMs: Int64, duplicateExcess: Int64? = nil
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
    }

    /// What the issue puts at risk, by the contract's table.
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

/// What the pipeline did with one record.
public enum RecordDisposition: String, Sendable, Hashable, Codable {
    /// The record changed state (and may have emitted transitions).
    case applied
    /// A ledger row whose seq is already taken for its user (redelivery, or another row id at
    /// the same seq): ignored entirely.
    case duplicateRow
    /// A ledger row with `seq < 1`: ignored.
    case invalidSeq
    /// An account snapshot with a version not above the applied one, or a gate older than the
    /// applied one (or the applied one again): ignored.
    case outdated
    /// A webhook record already seen.
    case duplicateWebhook
    /// A Stripe event whose id was applied before.
    case duplicateStripeEvent
}
