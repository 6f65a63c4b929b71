import Shared

/// The ledger rows that carried one cross-user id (Stripe event, payment intent or invoice).
///
/// Size bound: the count, the smallest user id, and the `IssueText.maxListedRowIds` smallest row
/// ids; a row id already listed is not counted twice.
public struct RowGroup: Sendable, Hashable, Codable {
    public internal(set) var count: Int = 0
    /// The smallest row ids, ascending.
    public internal(set) var rowIds: [String] = []
    /// The smallest user id among the rows (the issue's `userId`).
    public internal(set) var minUserId: String?

    public init() {}

    /// Adds a row; `false` when its id is already listed.
    mutating func add(rowId: String, userId: String) -> Bool {
        var index = rowIds.endIndex
        while index > rowIds.startIndex, rowIds[index - 1] >= rowId {
            if rowIds[index - 1] == rowId { return false }
            index -= 1
        }
        count += 1
        if index < IssueText.maxListedRowIds {
            rowIds.insert(rowId, at: index)
            if rowIds.count > IssueText.maxListedRowIds { rowIds.removeLast() }
        }
        if minUserId.map({ userId < $0 }) ?? true { minUserId = userId }
        return true
    }

    var evidence: GroupEvidence { GroupEvidence(rowIds: rowIds, rowCount: count, userId: minUserId) }
}

/// State of a `stripeEvent` key: its carrier rows and whether the webhook record was seen.
public struct StripeEventState: Sendable, Hashable, Codable {
    public internal(set) var webhookSeen = false
    /// Every accepted ledger row carrying the event id.
    public internal(set) var carriers = RowGroup()
    /// Those with a positive amount (for `duplicate_credit_event`).
    public internal(set) var credits = RowGroup()
    /// Processing time since which rows carry the id without a webhook record.
    var missingSinceMs: Int64?
    var openMissing: GroupEvidence?
    var openDuplicate: GroupEvidence?

    public init() {}

    public func settleDeadlineMs(settleMs: Int64) -> Int64? {
        guard openMissing == nil, let since = missingSinceMs else { return nil }
        return addClamped(since, settleMs)
    }
}

/// State of a `paymentIntent` or `invoice` key: the positive rows that carried it.
///
/// An invoice key also knows whether any `SUBSCRIPTION_GRANT` row (of any amount) carried the invoice,
/// and which Stripe customer its first `invoice.paid` came from (whose state waits for the grant).
public struct CarrierGroupState: Sendable, Hashable, Codable {
    public internal(set) var rows = RowGroup()
    var openDuplicate: GroupEvidence?
    /// A `SUBSCRIPTION_GRANT` row carried the invoice.
    public internal(set) var granted = false
    /// The customer of the invoice's first `invoice.paid`.
    public internal(set) var invoiceCustomer: String?

    public init() {}
}

/// State of a `planGate` key: the latest gate and whether its regression is open.
public struct PlanGateState: Sendable, Hashable, Codable {
    public internal(set) var allowedTiers: [Tier]
    public internal(set) var updatedAtMs: Int64
    var open: GateEvidence?

    public init(allowedTiers: [Tier], updatedAtMs: Int64) {
        self.allowedTiers = allowedTiers
        self.updatedAtMs = updatedAtMs
    }
}
