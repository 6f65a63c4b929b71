import Shared

/// Titles and repair descriptions of the issues: presentation shared by the incremental pipeline
/// and the batch oracle (which decide *whether* and *with what evidence* independently).
public enum IssueText {
    public static func creditBalance(balance: Int64, ledgerBalance: Int64) -> (String, RepairSuggestion) {
        (
            "Balance \(balance) differs from ledger balance \(ledgerBalance)",
            RepairSuggestion(
                action: .syncBalance,
                description: "Set balance to \(ledgerBalance) with an audit row of \(ledgerBalance &- balance)")
        )
    }

    public static func ledgerGap(first: Int64, last: Int64) -> String {
        first == last ? "Ledger seq \(first) is missing" : "Ledger seqs \(first) to \(last) are missing"
    }

    public static func ledgerArithmetic(seq: Int64, previous: Int64, amount: Int64, balanceAfter: Int64) -> String {
        "Ledger seq \(seq) has balance \(balanceAfter) but \(previous) + \(amount) = \(previous &+ amount)"
    }

    public static func paidWithoutCustomer(tier: Tier) -> (String, RepairSuggestion) {
        (
            "Tier \(tier.rawValue) without a Stripe customer",
            RepairSuggestion(
                action: .downgradeToFree,
                description: "Set tier \(tier.rawValue) to FREE with a subscription audit row")
        )
    }

    public static func freeSubscriptionGrant(rowId: String, amount: Int64) -> String {
        "Subscription grant \(rowId) of \(amount) credits to a user on FREE"
    }

    public static func staleSubscription(tier: Tier, periodDays: Int64) -> String {
        "Tier \(tier.rawValue) without an invoice-backed grant in \(periodDays) days"
    }

    public static func tierMismatch(tier: Tier, subscriptionStatus: String?) -> String {
        "Tier \(tier.rawValue) but Stripe subscription status is \(subscriptionStatus ?? "none")"
    }

    public static func webhookMissing(eventId: String) -> (String, RepairSuggestion) {
        (
            "No webhook record for Stripe event \(eventId)",
            RepairSuggestion(
                action: .backfillWebhookRecord,
                description: "Insert the missing stripe_webhook_events row for \(eventId) with source backfill")
        )
    }

    public static func duplicateEvent(eventId: String, rowCount: Int) -> String {
        "Stripe event \(eventId) credited by \(rowCount) ledger rows"
    }

    public static func duplicatePaymentIntent(paymentIntentId: String, rowCount: Int) -> String {
        "Payment intent \(paymentIntentId) credited by \(rowCount) purchases"
    }

    public static func duplicateInvoiceGrant(invoiceId: String, rowCount: Int) -> String {
        "Invoice \(invoiceId) granted by \(rowCount) subscription grants"
    }

    public static func planGate(feature: String, allowed: [Tier], expected: [Tier]) -> String {
        func list(_ tiers: [Tier]) -> String { tiers.isEmpty ? "no tier" : tiers.map(\.rawValue).joined(separator: ", ") }
        return "Plan gate \(feature) allows \(list(allowed)); policy expects \(list(expected))"
    }

    public static func purchaseWithoutPaymentIntent(rowId: String, amount: Int64) -> String {
        "Purchase \(rowId) of \(amount) credits has no payment intent"
    }

    public static func grantWithoutInvoice(rowId: String, amount: Int64) -> String {
        "Subscription grant \(rowId) of \(amount) credits has no invoice"
    }

    public static func largeMovement(rowId: String, amount: Int64) -> String {
        "Ledger row \(rowId) moves \(amount) credits"
    }

    public static func unlimitedCredits(role: Role) -> (String, RepairSuggestion) {
        (
            "Unlimited credits for a \(role.rawValue) account",
            RepairSuggestion(
                action: .disableUnlimitedCredits,
                description: "Set unlimited credits to false with a zero-amount audit row")
        )
    }

    /// Tiers in the contract's order (FREE, PRO, TEAM), for evidence and titles.
    public static func sortedTiers(_ tiers: some Sequence<Tier>) -> [Tier] {
        let set = Set(tiers)
        return Tier.allCases.filter { set.contains($0) }
    }

    /// Most ledger row ids listed in a group issue's evidence (the smallest ids, sorted).
    public static let maxListedRowIds = 16
}

extension IssueText {
    static func describe(_ subscriptions: [SubscriptionView]) -> String {
        subscriptions.isEmpty ? "no subscriptions" : subscriptions.map { "\($0.id) \($0.status)" }.joined(separator: ", ")
    }

    public static func stripePaidLocalFree(customerId: String, subscriptions: [SubscriptionView]) -> String {
        "Paying in Stripe (\(customerId): \(describe(subscriptions))) but the local tier is FREE"
    }

    public static func localPaidStripeInactive(tier: Tier, customerId: String, subscriptions: [SubscriptionView])
        -> String
    {
        "Tier \(tier.rawValue) but inactive in Stripe (\(customerId): \(describe(subscriptions)))"
    }

    public static func invoiceWithoutGrant(invoiceId: String, amountPaid: Int64, currency: String?) -> String {
        let paid = currency.map { "\(amountPaid) \($0)" } ?? "\(amountPaid)"
        return "Invoice \(invoiceId) paid (\(paid)) without a subscription grant"
    }
}
