import Shared

extension BatchOracle {
    /// The Stripe checks from scratch: Stripe's events against the users' latest snapshots and the
    /// accepted ledger rows (settle times taken as passed).
    ///
    /// - `accounts`: each user's latest applied snapshot.
    /// - `grants`: every accepted `SUBSCRIPTION_GRANT` row.
    /// - `stripe`: the events in arrival order; an event counts once per customer and id, the state of
    ///   a subscription or invoice is the one of its event with the greatest `created` (ties: greatest
    ///   id), and an invoice belongs to the customer of its first `invoice.paid`.
    static func stripeIssues(accounts: [String: AccountSnapshot], grants: [LedgerRow], stripe: [StripeEvent])
        -> [OpenIssue]
    {
        func some(_ s: String?) -> String? { (s?.isEmpty ?? true) ? nil : s }
        struct Seen: Hashable {
            var customer: String
            var id: String
        }
        var seen = Set<Seen>()
        var events: [StripeEvent] = []
        for event in stripe where seen.insert(Seen(customer: event.customerId, id: event.id)).inserted {
            events.append(event)
        }
        func wins(_ a: StripeEvent, over b: StripeEvent?) -> Bool {
            guard let b else { return true }
            return (a.createdMs, a.id) > (b.createdMs, b.id)
        }

        // Subscriptions in force, per customer.
        var subscriptions: [String: [String: StripeEvent]] = [:]
        var invoiceOwner: [String: String] = [:]
        var invoices: [String: StripeEvent] = [:]
        for event in events {
            if event.type == .invoicePaid {
                let owner = invoiceOwner[event.objectId] ?? event.customerId
                invoiceOwner[event.objectId] = owner
                guard owner == event.customerId else { continue }
                if wins(event, over: invoices[event.objectId]) { invoices[event.objectId] = event }
            } else if wins(event, over: subscriptions[event.customerId]?[event.objectId]) {
                subscriptions[event.customerId, default: [:]][event.objectId] = event
            }
        }

        var usersOf: [String: [String]] = [:]
        for (userId, account) in accounts {
            if let customer = some(account.stripeCustomerId) { usersOf[customer, default: []].append(userId) }
        }

        var issues: [OpenIssue] = []
        for (userId, account) in accounts {
            guard let customer = some(account.stripeCustomerId) else { continue }
            let subs = (subscriptions[customer] ?? [:]).values.sorted { $0.objectId < $1.objectId }
            let views = subs.map { SubscriptionView(id: $0.objectId, status: $0.status ?? "") }
            let standing = StripeStanding.of(statuses: views.map(\.status))
            let evidence: JSONValue = .object([
                "tier": .string(account.tier.rawValue), "stripeCustomerId": .string(customer),
                "subscriptions": .array(views.map { .object(["id": .string($0.id), "status": .string($0.status)]) }),
            ])
            if standing == .paid, account.tier == .free {
                issues.append(
                    OpenIssue(
                        issueId: "stripe-paid-local-free:\(userId)", check: .stripePaidLocalFree, userId: userId,
                        title: IssueText.stripePaidLocalFree(customerId: customer, subscriptions: views),
                        evidence: evidence, repair: nil))
            }
            if standing == .inactive, account.tier != .free {
                issues.append(
                    OpenIssue(
                        issueId: "stripe-inactive-local-paid:\(userId)", check: .localPaidStripeInactive, userId: userId,
                        title: IssueText.localPaidStripeInactive(tier: account.tier, customerId: customer, subscriptions: views),
                        evidence: evidence, repair: nil))
            }
        }

        let granted = Set(grants.compactMap { some($0.stripeInvoiceId) })
        for (invoiceId, event) in invoices where !granted.contains(invoiceId) && event.callsForGrant {
            guard let owner = usersOf[event.customerId]?.min() else { continue }
            let amount = event.amountPaid ?? 0
            issues.append(
                OpenIssue(
                    issueId: "invoice-without-grant:\(invoiceId)", check: .paidInvoiceWithoutGrant, userId: owner,
                    title: IssueText.invoiceWithoutGrant(invoiceId: invoiceId, amountPaid: amount, currency: event.currency),
                    evidence: [
                        "invoiceId": .string(invoiceId), "stripeCustomerId": .string(event.customerId),
                        "amountPaid": .int(amount), "currency": event.currency.map(JSONValue.string) ?? nil,
                        "subscription": event.subscriptionId.map(JSONValue.string) ?? nil,
                        "billingReason": event.billingReason.map(JSONValue.string) ?? nil,
                        "paidAt": .string(Timestamp.format(event.createdMs)),
                    ], repair: nil))
        }
        return issues
    }
}
