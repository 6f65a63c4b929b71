import Shared

extension BillingTraffic.Builder {
    /// One user per Stripe check, each with its own customer: paying in Stripe while FREE, PRO while
    /// every subscription is canceled, and a paid renewal invoice whose grant never came.
    mutating func injectStripeFaults() {
        let end = options.endMs
        let seconds = { (ms: Int64) in ms / 1000 * 1000 }
        func user(_ id: String, tier: Tier, customer: String) {
            let snapshot = AccountSnapshot(
                userId: id, role: .user, tier: tier, credits: 0, stripeCustomerId: customer,
                stripeSubscriptionId: "sub_\(id)", subscriptionStatus: tier.isPaid ? "active" : nil,
                updatedAtMs: end - 10_000, version: 1)
            emit(.account(snapshot))
            traffic.users.append(snapshot)
        }
        func subscription(_ id: String, _ type: StripeEvent.Kind, customer: String, status: String, at: Int64) {
            emit(.stripe(StripeEvent(
                id: id, type: type, createdMs: seconds(at), customerId: customer, objectId: "sub_\(customer)",
                status: status)))
        }

        user("user_stripe_free", tier: .free, customer: "cus_stripe_free")
        subscription("evt_stripe_free", .subscriptionCreated, customer: "cus_stripe_free", status: "active", at: end - 9_000)
        traffic.expectedIssueIds.insert(CheckKind.stripePaidLocalFree.issueId("user_stripe_free"))

        user("user_stripe_canceled", tier: .pro, customer: "cus_stripe_canceled")
        // Delivered out of order: the cancellation first, the older creation after it.
        subscription("evt_stripe_cancel", .subscriptionDeleted, customer: "cus_stripe_canceled", status: "active", at: end - 8_000)
        subscription("evt_stripe_create", .subscriptionCreated, customer: "cus_stripe_canceled", status: "active", at: end - 20_000)
        traffic.expectedIssueIds.insert(CheckKind.localPaidStripeInactive.issueId("user_stripe_canceled"))

        user("user_stripe_nogrant", tier: .pro, customer: "cus_stripe_nogrant")
        subscription("evt_stripe_nogrant_sub", .subscriptionCreated, customer: "cus_stripe_nogrant", status: "active", at: end - 9_000)
        emit(.stripe(StripeEvent(
            id: "evt_stripe_nogrant_inv", type: .invoicePaid, createdMs: seconds(end - 8_000),
            customerId: "cus_stripe_nogrant", objectId: "in_stripe_nogrant", subscriptionId: "sub_cus_stripe_nogrant",
            billingReason: "subscription_cycle", amountPaid: 2900, currency: "usd")))
        traffic.expectedIssueIds.insert(CheckKind.paidInvoiceWithoutGrant.issueId("in_stripe_nogrant"))
    }
}
