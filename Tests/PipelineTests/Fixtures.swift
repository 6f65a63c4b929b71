import CheckPipeline
import Shared

/// Small builders for records in tests.
enum Fixture {
    static let t0: Int64 = 1_790_000_000_000

    static func row(
        _ id: String, user: String = "u1", seq: Int64, _ type: LedgerType = .usage, amount: Int64, balance: Int64,
        event: String? = nil, intent: String? = nil, invoice: String? = nil, at: Int64 = t0
    ) -> BillingRecord {
        .ledger(
            LedgerRow(
                id: id, userId: user, seq: seq, type: type, amount: amount, balanceAfter: balance, stripeEventId: event,
                stripePaymentIntentId: intent, stripeInvoiceId: invoice, createdAtMs: at))
    }

    static func account(
        user: String = "u1", tier: Tier = .free, credits: Int64 = 0, role: Role = .user, unlimited: Bool = false,
        customer: String? = "cus_1", status: String? = nil, at: Int64 = t0, version: Int64? = nil
    ) -> BillingRecord {
        .account(
            AccountSnapshot(
                userId: user, role: role, tier: tier, credits: credits, unlimitedCredits: unlimited,
                stripeCustomerId: customer, stripeSubscriptionId: customer == nil ? nil : "sub_1",
                subscriptionStatus: status, updatedAtMs: at, version: version))
    }

    static func webhook(_ eventId: String, at: Int64 = t0) -> BillingRecord {
        .webhook(WebhookRecord(eventId: eventId, type: "invoice.paid", processedAtMs: at))
    }

    static func gate(_ feature: String, _ tiers: Set<Tier>, at: Int64 = t0) -> BillingRecord {
        .planGate(PlanGate(feature: feature, allowedTiers: tiers, updatedAtMs: at))
    }

    /// A subscription event; `created` in seconds after `t0`.
    static func subscription(
        _ eventId: String, customer: String = "cus_1", sub: String = "sub_1", status: String,
        _ type: StripeEvent.Kind = .subscriptionUpdated, created: Int64 = 0
    ) -> BillingRecord {
        .stripe(
            StripeEvent(
                id: eventId, type: type, createdMs: t0 + created * 1000, customerId: customer, objectId: sub,
                status: status))
    }

    /// An `invoice.paid` event; `created` in seconds after `t0`.
    static func invoicePaid(
        _ eventId: String, customer: String = "cus_1", invoice: String, amount: Int64 = 2900, currency: String = "usd",
        reason: String = "subscription_cycle", created: Int64 = 0
    ) -> BillingRecord {
        .stripe(
            StripeEvent(
                id: eventId, type: .invoicePaid, createdMs: t0 + created * 1000, customerId: customer,
                objectId: invoice, subscriptionId: "sub_1", billingReason: reason, amountPaid: amount,
                currency: currency))
    }

    static func driver(settleMs: Int64 = 30_000, periodDays: Int64 = 45) -> PipelineDriver {
        PipelineDriver(settings: CheckSettings(settleMs: settleMs, periodDays: periodDays), startMs: t0)
    }
}

extension PipelineDriver {
    /// The open issue with this id, if any.
    func open(_ issueId: String) -> OpenIssue? { openIssues.first { $0.issueId == issueId } }
}

extension Array where Element == IssueEvent {
    var ids: [String] { map(\.issueId) }
}
