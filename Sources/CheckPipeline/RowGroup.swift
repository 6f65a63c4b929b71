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
    /// The sum of the rows' amounts (saturating).
    public internal(set) var amountSum: Int64 = 0
    /// The earliest row by `createdAt`, then id: the one a duplicate set does not count as excess.
    public internal(set) var earliest: RowRef?

    /// A row's place in the order of a duplicate set, and its amount.
    public struct RowRef: Sendable, Hashable, Codable {
        public var createdAtMs: Int64
        public var id: String
        public var amount: Int64
    }

    public init() {}

    enum CodingKeys: String, CodingKey { case count, rowIds, minUserId, amountSum, earliest }

    // States stored as JSON before the amount at risk existed have no sum.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(Int.self, forKey: .count)
        rowIds = try c.decode([String].self, forKey: .rowIds)
        minUserId = try c.decodeIfPresent(String.self, forKey: .minUserId)
        amountSum = try c.decodeIfPresent(Int64.self, forKey: .amountSum) ?? 0
        earliest = try c.decodeIfPresent(RowRef.self, forKey: .earliest)
    }

    /// The amounts of every row but the earliest: what a duplicate set credited twice.
    public var excess: Int64 { saturatingSubtract(amountSum, earliest?.amount ?? 0) }

    /// Adds a row; `false` when its id is already listed.
    mutating func add(rowId: String, userId: String, amount: Int64, createdAtMs: Int64) -> Bool {
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
        amountSum = saturatingAdd(amountSum, amount)
        if earliest.map({ (createdAtMs, rowId) < ($0.createdAtMs, $0.id) }) ?? true {
            earliest = RowRef(createdAtMs: createdAtMs, id: rowId, amount: amount)
        }
        return true
    }

    var evidence: GroupEvidence { GroupEvidence(rowIds: rowIds, rowCount: count, userId: minUserId) }

    /// The evidence of a duplicate set, with its excess (so a change of the sum is an update).
    var duplicateEvidence: GroupEvidence {
        GroupEvidence(rowIds: rowIds, rowCount: count, userId: minUserId, excess: excess)
    }
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

@inline(__always)
func saturatingAdd(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? .max : .min) : sum
}

@inline(__always)
func saturatingSubtract(_ a: Int64, _ b: Int64) -> Int64 {
    let (difference, overflow) = a.subtractingReportingOverflow(b)
    return overflow ? (b < 0 ? .max : .min) : difference
}
