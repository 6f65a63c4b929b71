import Shared

/// A compact binary form of entity states, for the worker's state table (hot path: every batch
/// decodes the states it touches and encodes the ones it changed).
///
/// Layout: a version byte (`EntityState.binaryVersion`), a case tag, then the fields in
/// declaration order. Integers are zigzag LEB128 varints, strings a varint byte count and UTF-8,
/// optionals a presence byte, arrays a varint count, enums a fixed code per case (never the
/// declaration order). The first byte is never `{`, so readers can still tell old JSON rows apart.
/// - Important: Changing a stored field means a new version byte, and decoding the old ones.
extension EntityState {
    /// The version byte of the current layout. Layout 2 appends the duplicate-set sums (amount at
    /// risk) to the Stripe event and carrier group states; layout 1 rows are still read.
    public static let binaryVersion: UInt8 = 2
    /// Where a stripe customer's user count starts (after the version byte and the case tag): the byte
    /// there is 0 exactly when no user names the customer, which the report counts in SQL.
    public static let stripeCustomerUsersByteOffset = 2

    /// Appends the binary form of the state to `bytes`.
    public func encodeBinary(into bytes: inout [UInt8]) {
        var writer = BinaryStateWriter(bytes: bytes)
        bytes = []  // keep `writer.bytes` uniquely referenced while it grows
        writer.byte(Self.binaryVersion)
        switch self {
        case .user(let state):
            writer.byte(0)
            writer.user(state.fields)
        case .stripeEvent(let state):
            writer.byte(1)
            writer.stripeEvent(state)
        case .carrierGroup(let state):
            writer.byte(2)
            writer.rowGroup(state.rows)
            writer.optional(state.openDuplicate) { $0.groupEvidence($1) }
            writer.bool(state.granted)
            writer.optionalString(state.invoiceCustomer)
            writer.rowGroupTotals(state.rows)
            writer.optionalInt(state.openDuplicate?.excess)
        case .planGate(let state):
            writer.byte(3)
            writer.tiers(state.allowedTiers)
            writer.int(state.updatedAtMs)
            writer.optional(state.open) { $0.gateEvidence($1) }
        case .stripeCustomer(let state):
            writer.byte(4)
            writer.stripeCustomer(state)
        }
        bytes = writer.bytes
    }

    /// The binary form of the state.
    public var binary: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        encodeBinary(into: &bytes)
        return bytes
    }

    /// Decodes the binary form written by `encodeBinary(into:)`.
    public init(binary bytes: UnsafeRawBufferPointer) throws(EntityStateBinaryError) {
        var reader = BinaryStateReader(bytes: bytes)
        let version = try reader.byte()
        guard version == 1 || version == Self.binaryVersion else {
            throw EntityStateBinaryError("unknown version byte \(version)")
        }
        reader.layout = version
        switch try reader.byte() {
        case 0:
            var state = UserState(userId: "")
            state.fields = try reader.user()
            self = .user(state)
        case 1:
            self = .stripeEvent(try reader.stripeEvent())
        case 2:
            var state = CarrierGroupState()
            state.rows = try reader.rowGroup()
            state.openDuplicate = try reader.optional { reader throws(EntityStateBinaryError) in try reader.groupEvidence() }
            if reader.layout >= 2 {
                state.granted = try reader.bool()
                state.invoiceCustomer = try reader.optionalString()
                // Added in layout 2 (amount at risk).
                try reader.rowGroupTotals(&state.rows)
                // Read even without an open duplicate: optional chaining would skip the read.
                let excess = try reader.optionalInt()
                state.openDuplicate?.excess = excess
            } else if !reader.isAtEnd {
                // Layout 1 rows written before invoices knew their grant and customer end here.
                state.granted = try reader.bool()
                state.invoiceCustomer = try reader.optionalString()
            }
            self = .carrierGroup(state)
        case 3:
            let tiers = try reader.tiers()
            var state = PlanGateState(allowedTiers: tiers, updatedAtMs: try reader.int())
            state.open = try reader.optional { reader throws(EntityStateBinaryError) in try reader.gateEvidence() }
            self = .planGate(state)
        case 4:
            self = .stripeCustomer(try reader.stripeCustomer())
        case let tag:
            throw EntityStateBinaryError("unknown entity state tag \(tag)")
        }
        guard reader.isAtEnd else { throw EntityStateBinaryError("\(reader.remaining) trailing bytes") }
    }

    /// Decodes the binary form written by `encodeBinary(into:)`.
    public init(binary bytes: [UInt8]) throws(EntityStateBinaryError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(EntityStateBinaryError) in try EntityState(binary: raw) } }
        self = try result.get()
    }
}

/// A binary entity state that cannot be decoded (truncated, corrupt, or from a newer layout).
public struct EntityStateBinaryError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = "entity state: " + description }
}

// MARK: - Writing

struct BinaryStateWriter {
    var bytes: [UInt8]

    @inline(__always) mutating func byte(_ value: UInt8) { bytes.append(value) }

    @inline(__always) mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }

    /// Zigzag LEB128: small magnitudes of either sign take few bytes.
    @inline(__always) mutating func int(_ value: Int64) {
        var rest = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(truncatingIfNeeded: rest))
    }

    @inline(__always) mutating func count(_ value: Int) { int(Int64(value)) }

    mutating func string(_ value: String) {
        var value = value
        value.withUTF8 { utf8 in
            count(utf8.count)
            bytes.append(contentsOf: utf8)
        }
    }

    @inline(__always) mutating func optional<T>(_ value: T?, _ write: (inout Self, T) -> Void) {
        if let value {
            byte(1)
            write(&self, value)
        } else {
            byte(0)
        }
    }

    mutating func optionalInt(_ value: Int64?) { optional(value) { $0.int($1) } }
    mutating func optionalString(_ value: String?) { optional(value) { $0.string($1) } }

    mutating func tier(_ value: Tier) {
        switch value {
        case .free: byte(0)
        case .pro: byte(1)
        case .team: byte(2)
        }
    }

    mutating func role(_ value: Role) {
        switch value {
        case .user: byte(0)
        case .admin: byte(1)
        case .superAdmin: byte(2)
        }
    }

    mutating func level(_ value: PlanPolicy.Level) {
        switch value {
        case .free: byte(0)
        case .premium: byte(1)
        case .team: byte(2)
        }
    }

    mutating func tiers(_ values: [Tier]) {
        count(values.count)
        for value in values { tier(value) }
    }

    mutating func strings(_ values: [String]) {
        count(values.count)
        for value in values { string(value) }
    }

    mutating func user(_ fields: UserState.Fields) {
        string(fields.userId)
        count(fields.runs.count)
        for run in fields.runs {
            int(run.lo)
            int(run.hi)
            int(run.loAmount)
            int(run.loBalanceAfter)
            int(run.hiBalanceAfter)
            int(run.gapBelowSinceMs)
        }
        optional(fields.account) { $0.account($1) }
        optionalInt(fields.maxVersion)
        count(fields.tierPoints.count)
        for point in fields.tierPoints {
            int(point.atMs)
            tier(point.tier)
        }
        optionalInt(fields.paidSinceMs)
        optionalInt(fields.lastInvoiceGrantMs)
        count(fields.pendingGrants.count)
        for grant in fields.pendingGrants {
            string(grant.rowId)
            int(grant.seq)
            int(grant.amount)
            int(grant.createdAtMs)
            optionalString(grant.stripeInvoiceId)
            int(grant.deadlineMs)
        }
        optionalInt(fields.mismatchSinceMs)
        optional(fields.openBalance) {
            $0.int($1.balance)
            $0.int($1.ledgerBalanceAfter)
            $0.int($1.ledgerSeq)
        }
        count(fields.openGaps.count)
        for gap in fields.openGaps {
            int(gap.first)
            int(gap.last)
        }
        optional(fields.openPaidWithoutCustomer) { $0.accountEvidence($1) }
        optional(fields.openTierMismatch) { $0.accountEvidence($1) }
        optional(fields.openUnlimited) { $0.accountEvidence($1) }
        optional(fields.openStale) {
            $0.tier($1.tier)
            $0.int($1.paidSinceMs)
            $0.optionalInt($1.lastInvoiceGrantMs)
        }
        // Stripe fields, appended.
        optional(fields.stripeView) { $0.stripeView($1) }
        optionalInt(fields.paidFreeSinceMs)
        optionalInt(fields.inactivePaidSinceMs)
        optional(fields.openStripePaidFree) { $0.stripeUserEvidence($1) }
        optional(fields.openStripeInactive) { $0.stripeUserEvidence($1) }
        // Appended after the Stripe fields.
        optional(fields.untracked) {
            $0.int($1.count)
            $0.int($1.missingSeqs)
        }
    }

    mutating func subscriptionViews(_ views: [SubscriptionView]) {
        count(views.count)
        for view in views {
            string(view.id)
            string(view.status)
        }
    }

    mutating func stripeView(_ view: StripeView) {
        string(view.customerId)
        subscriptionViews(view.subscriptions)
    }

    mutating func stripeUserEvidence(_ evidence: StripeUserEvidence) {
        tier(evidence.tier)
        string(evidence.customerId)
        subscriptionViews(evidence.subscriptions)
    }

    /// `users` comes first, so that an empty list is the byte 0 at `stripeCustomerUsersByteOffset`.
    mutating func stripeCustomer(_ state: StripeCustomerState) {
        strings(state.users)
        strings(state.eventIds)
        count(state.subscriptions.count)
        for entry in state.subscriptions {
            string(entry.id)
            string(entry.status)
            int(entry.createdMs)
            string(entry.eventId)
        }
        count(state.invoices.count)
        for invoice in state.invoices {
            string(invoice.id)
            string(invoice.eventId)
            int(invoice.createdMs)
            optionalInt(invoice.amountPaid)
            optionalString(invoice.currency)
            optionalString(invoice.billingReason)
            optionalString(invoice.subscriptionId)
            optionalInt(invoice.sinceMs)
            optional(invoice.open) {
                $0.string($1.userId)
                $0.int($1.amountPaid)
                $0.optionalString($1.currency)
                $0.optionalString($1.subscriptionId)
                $0.optionalString($1.billingReason)
                $0.int($1.createdMs)
            }
        }
    }

    mutating func account(_ account: AccountSnapshot) {
        string(account.userId)
        role(account.role)
        tier(account.tier)
        int(account.credits)
        bool(account.unlimitedCredits)
        optionalString(account.stripeCustomerId)
        optionalString(account.stripeSubscriptionId)
        optionalString(account.subscriptionStatus)
        int(account.updatedAtMs)
        optionalInt(account.version)
    }

    mutating func accountEvidence(_ evidence: AccountEvidence) {
        optional(evidence.tier) { $0.tier($1) }
        optional(evidence.role) { $0.role($1) }
        optionalString(evidence.subscriptionStatus)
        optionalString(evidence.stripeCustomerId)
    }

    mutating func stripeEvent(_ state: StripeEventState) {
        bool(state.webhookSeen)
        rowGroup(state.carriers)
        rowGroup(state.credits)
        optionalInt(state.missingSinceMs)
        optional(state.openMissing) { $0.groupEvidence($1) }
        optional(state.openDuplicate) { $0.groupEvidence($1) }
        // Appended fields (amount at risk): keep them last so older rows stay readable.
        rowGroupTotals(state.carriers)
        rowGroupTotals(state.credits)
        optionalInt(state.openDuplicate?.excess)
    }

    mutating func rowGroupTotals(_ group: RowGroup) {
        int(group.amountSum)
        optional(group.earliest) {
            $0.int($1.createdAtMs)
            $0.string($1.id)
            $0.int($1.amount)
        }
    }

    mutating func rowGroup(_ group: RowGroup) {
        count(group.count)
        strings(group.rowIds)
        optionalString(group.minUserId)
    }

    mutating func groupEvidence(_ evidence: GroupEvidence) {
        strings(evidence.rowIds)
        count(evidence.rowCount)
        optionalString(evidence.userId)
    }

    mutating func gateEvidence(_ evidence: GateEvidence) {
        tiers(evidence.allowed)
        tiers(evidence.expected)
        level(evidence.level)
    }
}
