import Shared

struct BinaryStateReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    /// The layout's version byte; fields added in a later layout are read only from rows of it.
    var layout: UInt8 = EntityState.binaryVersion

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }
    var remaining: Int { bytes.count - position }

    @inline(__always) mutating func byte() throws(EntityStateBinaryError) -> UInt8 {
        guard position < bytes.count else { throw EntityStateBinaryError("truncated at byte \(position)") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func bool() throws(EntityStateBinaryError) -> Bool {
        switch try byte() {
        case 0: false
        case 1: true
        case let other: throw EntityStateBinaryError("bad flag \(other) at byte \(position - 1)")
        }
    }

    @inline(__always) mutating func int() throws(EntityStateBinaryError) -> Int64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let next = try byte()
            guard shift < 64, shift < 63 || next <= 1 else {
                throw EntityStateBinaryError("varint too long at byte \(position - 1)")
            }
            result |= UInt64(next & 0x7F) << shift
            if next < 0x80 { break }
            shift += 7
        }
        return Int64(bitPattern: result >> 1) ^ -Int64(bitPattern: result & 1)
    }

    /// A non-negative count that cannot exceed what is left to read (guards allocation).
    mutating func count() throws(EntityStateBinaryError) -> Int {
        let value = try int()
        guard value >= 0, value <= Int64(remaining) else { throw EntityStateBinaryError("bad count \(value)") }
        return Int(value)
    }

    mutating func string() throws(EntityStateBinaryError) -> String {
        let length = try count()
        defer { position += length }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[position..<position + length]), as: UTF8.self)
    }

    @inline(__always) mutating func optional<T>(
        _ read: (inout Self) throws(EntityStateBinaryError) -> T
    ) throws(EntityStateBinaryError) -> T? {
        try bool() ? try read(&self) : nil
    }

    mutating func optionalInt() throws(EntityStateBinaryError) -> Int64? {
        try optional { reader throws(EntityStateBinaryError) in try reader.int() }
    }

    mutating func optionalString() throws(EntityStateBinaryError) -> String? {
        try optional { reader throws(EntityStateBinaryError) in try reader.string() }
    }

    mutating func tier() throws(EntityStateBinaryError) -> Tier {
        switch try byte() {
        case 0: .free
        case 1: .pro
        case 2: .team
        case let other: throw EntityStateBinaryError("bad tier code \(other)")
        }
    }

    mutating func role() throws(EntityStateBinaryError) -> Role {
        switch try byte() {
        case 0: .user
        case 1: .admin
        case 2: .superAdmin
        case let other: throw EntityStateBinaryError("bad role code \(other)")
        }
    }

    mutating func level() throws(EntityStateBinaryError) -> PlanPolicy.Level {
        switch try byte() {
        case 0: .free
        case 1: .premium
        case 2: .team
        case let other: throw EntityStateBinaryError("bad plan level code \(other)")
        }
    }

    mutating func tiers() throws(EntityStateBinaryError) -> [Tier] {
        let n = try count()
        var values: [Tier] = []
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(try tier()) }
        return values
    }

    mutating func strings() throws(EntityStateBinaryError) -> [String] {
        let n = try count()
        var values: [String] = []
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(try string()) }
        return values
    }

    mutating func user() throws(EntityStateBinaryError) -> UserState.Fields {
        var fields = UserState.Fields(userId: try string())
        let runs = try count()
        fields.runs.reserveCapacity(runs)
        for _ in 0..<runs {
            fields.runs.append(
                SeqRun(
                    lo: try int(), hi: try int(), loAmount: try int(), loBalanceAfter: try int(),
                    hiBalanceAfter: try int(), gapBelowSinceMs: try int()))
        }
        fields.account = try optional { reader throws(EntityStateBinaryError) in try reader.account() }
        fields.maxVersion = try optionalInt()
        let points = try count()
        fields.tierPoints.reserveCapacity(points)
        for _ in 0..<points { fields.tierPoints.append(TierPoint(atMs: try int(), tier: try tier())) }
        fields.paidSinceMs = try optionalInt()
        fields.lastInvoiceGrantMs = try optionalInt()
        let grants = try count()
        fields.pendingGrants.reserveCapacity(grants)
        for _ in 0..<grants {
            fields.pendingGrants.append(
                PendingGrant(
                    rowId: try string(), seq: try int(), amount: try int(), createdAtMs: try int(),
                    stripeInvoiceId: try optionalString(), deadlineMs: try int()))
        }
        fields.mismatchSinceMs = try optionalInt()
        fields.openBalance = try optional { reader throws(EntityStateBinaryError) in
            BalanceEvidence(balance: try reader.int(), ledgerBalanceAfter: try reader.int(), ledgerSeq: try reader.int())
        }
        let gaps = try count()
        fields.openGaps.reserveCapacity(gaps)
        for _ in 0..<gaps { fields.openGaps.append(GapEvidence(first: try int(), last: try int())) }
        fields.openPaidWithoutCustomer = try optional { reader throws(EntityStateBinaryError) in try reader.accountEvidence() }
        fields.openTierMismatch = try optional { reader throws(EntityStateBinaryError) in try reader.accountEvidence() }
        fields.openUnlimited = try optional { reader throws(EntityStateBinaryError) in try reader.accountEvidence() }
        fields.openStale = try optional { reader throws(EntityStateBinaryError) in
            StaleEvidence(tier: try reader.tier(), paidSinceMs: try reader.int(), lastInvoiceGrantMs: try reader.optionalInt())
        }
        // Rows written before the Stripe checks end here.
        guard !isAtEnd else { return fields }
        fields.stripeView = try optional { reader throws(EntityStateBinaryError) in
            StripeView(customerId: try reader.string(), subscriptions: try reader.subscriptionViews())
        }
        fields.paidFreeSinceMs = try optionalInt()
        fields.inactivePaidSinceMs = try optionalInt()
        fields.openStripePaidFree = try optional { reader throws(EntityStateBinaryError) in try reader.stripeUserEvidence() }
        fields.openStripeInactive = try optional { reader throws(EntityStateBinaryError) in try reader.stripeUserEvidence() }
        // Rows written before untracked holes end here.
        guard !isAtEnd else { return fields }
        fields.untracked = try optional { reader throws(EntityStateBinaryError) in
            UntrackedHoles(count: try reader.int(), missingSeqs: try reader.int())
        }
        return fields
    }

    mutating func subscriptionViews() throws(EntityStateBinaryError) -> [SubscriptionView] {
        let n = try count()
        var views: [SubscriptionView] = []
        views.reserveCapacity(n)
        for _ in 0..<n { views.append(SubscriptionView(id: try string(), status: try string())) }
        return views
    }

    mutating func stripeUserEvidence() throws(EntityStateBinaryError) -> StripeUserEvidence {
        StripeUserEvidence(tier: try tier(), customerId: try string(), subscriptions: try subscriptionViews())
    }

    mutating func stripeCustomer() throws(EntityStateBinaryError) -> StripeCustomerState {
        var state = StripeCustomerState()
        state.users = try strings()
        state.eventIds = try strings()
        let subscriptions = try count()
        for _ in 0..<subscriptions {
            state.subscriptions.append(
                SubscriptionEntry(id: try string(), status: try string(), createdMs: try int(), eventId: try string()))
        }
        let invoices = try count()
        for _ in 0..<invoices {
            state.invoices.append(
                PaidInvoice(
                    id: try string(), eventId: try string(), createdMs: try int(), amountPaid: try optionalInt(),
                    currency: try optionalString(), billingReason: try optionalString(),
                    subscriptionId: try optionalString(), sinceMs: try optionalInt(),
                    open: try optional { reader throws(EntityStateBinaryError) in
                        InvoiceEvidence(
                            userId: try reader.string(), amountPaid: try reader.int(), currency: try reader.optionalString(),
                            subscriptionId: try reader.optionalString(), billingReason: try reader.optionalString(),
                            createdMs: try reader.int())
                    }))
        }
        return state
    }

    mutating func account() throws(EntityStateBinaryError) -> AccountSnapshot {
        AccountSnapshot(
            userId: try string(), role: try role(), tier: try tier(), credits: try int(), unlimitedCredits: try bool(),
            stripeCustomerId: try optionalString(), stripeSubscriptionId: try optionalString(),
            subscriptionStatus: try optionalString(), updatedAtMs: try int(), version: try optionalInt())
    }

    mutating func accountEvidence() throws(EntityStateBinaryError) -> AccountEvidence {
        AccountEvidence(
            tier: try optional { reader throws(EntityStateBinaryError) in try reader.tier() },
            role: try optional { reader throws(EntityStateBinaryError) in try reader.role() },
            subscriptionStatus: try optionalString(), stripeCustomerId: try optionalString())
    }

    mutating func stripeEvent() throws(EntityStateBinaryError) -> StripeEventState {
        var state = StripeEventState()
        state.webhookSeen = try bool()
        state.carriers = try rowGroup()
        state.credits = try rowGroup()
        state.missingSinceMs = try optionalInt()
        state.openMissing = try optional { reader throws(EntityStateBinaryError) in try reader.groupEvidence() }
        state.openDuplicate = try optional { reader throws(EntityStateBinaryError) in try reader.groupEvidence() }
        // Added in layout 2 (amount at risk); rows of layout 1 have none.
        if layout >= 2 {
            try rowGroupTotals(&state.carriers)
            try rowGroupTotals(&state.credits)
            let excess = try optionalInt()
            state.openDuplicate?.excess = excess
        }
        return state
    }

    /// The sum and earliest row of a group (appended fields).
    mutating func rowGroupTotals(_ group: inout RowGroup) throws(EntityStateBinaryError) {
        group.amountSum = try int()
        group.earliest = try optional { reader throws(EntityStateBinaryError) in
            RowGroup.RowRef(createdAtMs: try reader.int(), id: try reader.string(), amount: try reader.int())
        }
    }

    mutating func rowGroup() throws(EntityStateBinaryError) -> RowGroup {
        var group = RowGroup()
        group.count = Int(try int())
        group.rowIds = try strings()
        group.minUserId = try optionalString()
        return group
    }

    mutating func groupEvidence() throws(EntityStateBinaryError) -> GroupEvidence {
        GroupEvidence(rowIds: try strings(), rowCount: Int(try int()), userId: try optionalString())
    }

    mutating func gateEvidence() throws(EntityStateBinaryError) -> GateEvidence {
        GateEvidence(allowed: try tiers(), expected: try tiers(), level: try level())
    }
}
