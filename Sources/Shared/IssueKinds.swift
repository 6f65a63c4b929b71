/// Issue categories of the contract.
public enum IssueCategory: String, Sendable, Codable, CaseIterable, Hashable {
    case creditReconciliation = "credit_reconciliation"
    case entitlementDrift = "entitlement_drift"
    case webhookReplaySafety = "webhook_replay_safety"
    case planGates = "plan_gates"
    case revenueAnomaly = "revenue_anomaly"
}

/// Issue severities, ordered from `info` to `critical`.
public enum Severity: String, Sendable, Codable, CaseIterable, Hashable, Comparable {
    case info, warning, error, critical

    var rank: Int {
        switch self {
        case .info: 0
        case .warning: 1
        case .error: 2
        case .critical: 3
        }
    }
    public static func < (lhs: Severity, rhs: Severity) -> Bool { lhs.rank < rhs.rank }
}

/// The four narrow repairs.
public enum RepairAction: String, Sendable, Codable, CaseIterable, Hashable {
    case syncBalance = "sync_balance"
    case downgradeToFree = "downgrade_to_free"
    case disableUnlimitedCredits = "disable_unlimited_credits"
    case backfillWebhookRecord = "backfill_webhook_record"
}

/// Every check of the contract with its fixed id prefix, category, severity, revenue flag and repair.
public enum CheckKind: String, Sendable, Codable, CaseIterable, Hashable {
    case creditBalanceMismatch = "credit_balance_mismatch"
    case ledgerSequenceGap = "ledger_sequence_gap"
    case ledgerArithmeticBreak = "ledger_arithmetic_break"
    case paidTierWithoutCustomer = "paid_tier_without_customer"
    case freeUserSubscriptionGrant = "free_user_subscription_grant"
    case stalePaidSubscription = "stale_paid_subscription"
    case tierSubscriptionMismatch = "tier_subscription_mismatch"
    case missingIdempotencyRecord = "missing_idempotency_record"
    case duplicateCreditEvent = "duplicate_credit_event"
    case duplicatePaymentIntent = "duplicate_payment_intent"
    case duplicateInvoiceGrant = "duplicate_invoice_grant"
    case planGateRegression = "plan_gate_regression"
    case purchaseWithoutPaymentIntent = "purchase_without_payment_intent"
    case subscriptionGrantWithoutInvoice = "subscription_grant_without_invoice"
    case largeCreditMovement = "large_credit_movement"
    case nonAdminUnlimitedCredits = "non_admin_unlimited_credits"
    case stripePaidLocalFree = "stripe_paid_local_free"
    case localPaidStripeInactive = "local_paid_stripe_inactive"
    case paidInvoiceWithoutGrant = "paid_invoice_without_grant"

    /// The prefix of the issue id, before the first `:`.
    public var idPrefix: String {
        switch self {
        case .creditBalanceMismatch: "credit-balance"
        case .ledgerSequenceGap: "ledger-gap"
        case .ledgerArithmeticBreak: "ledger-arithmetic"
        case .paidTierWithoutCustomer: "paid-without-customer"
        case .freeUserSubscriptionGrant: "free-subscription-grant"
        case .stalePaidSubscription: "stale-subscription"
        case .tierSubscriptionMismatch: "tier-mismatch"
        case .missingIdempotencyRecord: "webhook-missing"
        case .duplicateCreditEvent: "duplicate-event"
        case .duplicatePaymentIntent: "duplicate-payment-intent"
        case .duplicateInvoiceGrant: "duplicate-invoice-grant"
        case .planGateRegression: "plan-gate"
        case .purchaseWithoutPaymentIntent: "purchase-without-payment-intent"
        case .subscriptionGrantWithoutInvoice: "grant-without-invoice"
        case .largeCreditMovement: "large-credit-movement"
        case .nonAdminUnlimitedCredits: "unlimited-credits"
        case .stripePaidLocalFree: "stripe-paid-local-free"
        case .localPaidStripeInactive: "stripe-inactive-local-paid"
        case .paidInvoiceWithoutGrant: "invoice-without-grant"
        }
    }

    public var category: IssueCategory {
        switch self {
        case .creditBalanceMismatch, .ledgerSequenceGap, .ledgerArithmeticBreak: .creditReconciliation
        case .paidTierWithoutCustomer, .freeUserSubscriptionGrant, .stalePaidSubscription, .tierSubscriptionMismatch,
            .stripePaidLocalFree, .localPaidStripeInactive, .paidInvoiceWithoutGrant:
            .entitlementDrift
        case .missingIdempotencyRecord, .duplicateCreditEvent, .duplicatePaymentIntent, .duplicateInvoiceGrant:
            .webhookReplaySafety
        case .planGateRegression: .planGates
        case .purchaseWithoutPaymentIntent, .subscriptionGrantWithoutInvoice, .largeCreditMovement,
            .nonAdminUnlimitedCredits:
            .revenueAnomaly
        }
    }

    public var severity: Severity {
        switch self {
        case .paidTierWithoutCustomer, .duplicateCreditEvent, .duplicatePaymentIntent, .duplicateInvoiceGrant,
            .planGateRegression, .stripePaidLocalFree:
            .critical
        case .stalePaidSubscription, .largeCreditMovement: .warning
        default: .error
        }
    }

    public var revenueImpacting: Bool {
        switch self {
        case .stalePaidSubscription, .planGateRegression, .largeCreditMovement: false
        default: true
        }
    }

    public var repairAction: RepairAction? {
        switch self {
        case .creditBalanceMismatch: .syncBalance
        case .paidTierWithoutCustomer: .downgradeToFree
        case .missingIdempotencyRecord: .backfillWebhookRecord
        case .nonAdminUnlimitedCredits: .disableUnlimitedCredits
        default: nil
        }
    }

    /// Builds the issue id from its parts, e.g. `issueId("user_1")` → `credit-balance:user_1`.
    public func issueId(_ parts: String...) -> String {
        ([idPrefix] + parts).joined(separator: ":")
    }

    /// The check an issue id belongs to, from its prefix.
    public static func of(issueId: String) -> CheckKind? {
        guard let colon = issueId.firstIndex(of: ":") else { return nil }
        let prefix = issueId[..<colon]
        return allCases.first { $0.idPrefix == prefix }
    }
}
