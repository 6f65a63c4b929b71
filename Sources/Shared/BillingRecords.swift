/// Ledger row types of `credit_transactions.type`.
public enum LedgerType: String, Sendable, Codable, CaseIterable, Hashable {
    case purchase = "PURCHASE"
    case subscriptionGrant = "SUBSCRIPTION_GRANT"
    case usage = "USAGE"
    case refund = "REFUND"
    case adjustment = "ADJUSTMENT"
    case audit = "AUDIT"
}

/// Plan tiers of `users.tier`.
public enum Tier: String, Sendable, Codable, CaseIterable, Hashable {
    case free = "FREE"
    case pro = "PRO"
    case team = "TEAM"

    /// `PRO` and `TEAM` are paid tiers.
    public var isPaid: Bool { self != .free }
}

/// Roles of `users.role` and of command actors.
public enum Role: String, Sendable, Codable, CaseIterable, Hashable {
    case user = "USER"
    case admin = "ADMIN"
    case superAdmin = "SUPER_ADMIN"

    /// Only admins and super admins may repair or explain.
    public var mayRepair: Bool { self != .user }
}

/// One credit ledger row (`billing.ledger.v1`, table `credit_transactions`).
public struct LedgerRow: Sendable, Hashable, Codable {
    public var id: String
    public var userId: String
    public var seq: Int64
    public var type: LedgerType
    public var amount: Int64
    public var balanceAfter: Int64
    public var stripeEventId: String?
    public var stripePaymentIntentId: String?
    public var stripeInvoiceId: String?
    public var reason: String?
    /// `createdAt` in milliseconds since the epoch.
    public var createdAtMs: Int64

    public init(
        id: String, userId: String, seq: Int64, type: LedgerType, amount: Int64, balanceAfter: Int64,
        stripeEventId: String? = nil, stripePaymentIntentId: String? = nil, stripeInvoiceId: String? = nil,
        reason: String? = nil, createdAtMs: Int64
    ) {
        self.id = id
        self.userId = userId
        self.seq = seq
        self.type = type
        self.amount = amount
        self.balanceAfter = balanceAfter
        self.stripeEventId = stripeEventId
        self.stripePaymentIntentId = stripePaymentIntentId
        self.stripeInvoiceId = stripeInvoiceId
        self.reason = reason
        self.createdAtMs = createdAtMs
    }
}

/// One account / entitlement snapshot (`billing.accounts.v1`, table `users`).
public struct AccountSnapshot: Sendable, Hashable, Codable {
    public var userId: String
    public var role: Role
    public var tier: Tier
    public var credits: Int64
    public var unlimitedCredits: Bool
    public var stripeCustomerId: String?
    public var stripeSubscriptionId: String?
    public var subscriptionStatus: String?
    /// `updatedAt` in milliseconds since the epoch.
    public var updatedAtMs: Int64
    /// Only grows when present; an older or equal version than the applied one is ignored.
    public var version: Int64?

    public init(
        userId: String, role: Role = .user, tier: Tier, credits: Int64, unlimitedCredits: Bool = false,
        stripeCustomerId: String? = nil, stripeSubscriptionId: String? = nil, subscriptionStatus: String? = nil,
        updatedAtMs: Int64, version: Int64? = nil
    ) {
        self.userId = userId
        self.role = role
        self.tier = tier
        self.credits = credits
        self.unlimitedCredits = unlimitedCredits
        self.stripeCustomerId = stripeCustomerId
        self.stripeSubscriptionId = stripeSubscriptionId
        self.subscriptionStatus = subscriptionStatus
        self.updatedAtMs = updatedAtMs
        self.version = version
    }
}

/// One Stripe webhook idempotency record (`billing.webhooks.v1`, table `stripe_webhook_events`).
public struct WebhookRecord: Sendable, Hashable, Codable {
    public var eventId: String
    public var type: String?
    public var stripePaymentIntentId: String?
    public var stripeInvoiceId: String?
    /// `processedAt` in milliseconds since the epoch, when given.
    public var processedAtMs: Int64?
    /// `stripe` or `backfill`.
    public var source: String

    public init(
        eventId: String, type: String? = nil, stripePaymentIntentId: String? = nil, stripeInvoiceId: String? = nil,
        processedAtMs: Int64? = nil, source: String = "stripe"
    ) {
        self.eventId = eventId
        self.type = type
        self.stripePaymentIntentId = stripePaymentIntentId
        self.stripeInvoiceId = stripeInvoiceId
        self.processedAtMs = processedAtMs
        self.source = source
    }
}

/// One plan-gate rule as the app has it configured (`billing.plan-gates.v1`).
public struct PlanGate: Sendable, Hashable, Codable {
    public var feature: String
    public var allowedTiers: Set<Tier>
    /// `updatedAt` in milliseconds since the epoch.
    public var updatedAtMs: Int64

    public init(feature: String, allowedTiers: Set<Tier>, updatedAtMs: Int64) {
        self.feature = feature
        self.allowedTiers = allowedTiers
        self.updatedAtMs = updatedAtMs
    }
}

/// One decoded input record of any of the five input topics.
public enum BillingRecord: Sendable, Hashable {
    case ledger(LedgerRow)
    case account(AccountSnapshot)
    case webhook(WebhookRecord)
    case planGate(PlanGate)
    case stripe(StripeEvent)

    /// The record's own event time in milliseconds (used for the event-time watermark).
    public var eventTimeMs: Int64? {
        switch self {
        case .ledger(let row): row.createdAtMs
        case .account(let snapshot): snapshot.updatedAtMs
        case .webhook(let record): record.processedAtMs
        case .planGate(let gate): gate.updatedAtMs
        case .stripe(let event): event.createdMs
        }
    }
}
