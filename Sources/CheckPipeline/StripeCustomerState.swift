import Shared

/// Stripe's standing of one customer, from the statuses of its subscriptions in force.
public enum StripeStanding: Sendable, Hashable {
    /// Any subscription `active`, `trialing` or `past_due`.
    case paid
    /// Some subscriptions, all `canceled`, `unpaid`, `incomplete_expired` or `paused`.
    case inactive
    /// No subscription seen, only `incomplete` ones, or a mix that is neither: no Stripe check applies.
    case unknown

    public static func of(statuses: some Sequence<String>) -> StripeStanding {
        var any = false
        var allInactive = true
        for status in statuses {
            any = true
            switch status {
            case "active", "trialing", "past_due": return .paid
            case "canceled", "unpaid", "incomplete_expired", "paused": break
            default: allInactive = false
            }
        }
        return any && allInactive ? .inactive : .unknown
    }
}

/// One subscription and its status as a user's checks see it.
public struct SubscriptionView: Sendable, Hashable, Codable {
    public var id: String
    public var status: String
}

/// What a user's checks know of the Stripe customer its account names: pushed from the customer's
/// state whenever its subscriptions change, or read when the account names the customer.
struct StripeView: Sendable, Hashable, Codable {
    var customerId: String
    /// Sorted by subscription id.
    var subscriptions: [SubscriptionView]

    var standing: StripeStanding { .of(statuses: subscriptions.lazy.map(\.status)) }
}

/// A subscription's state in force: from the event with the greatest `created` (ties: greatest id).
struct SubscriptionEntry: Sendable, Hashable, Codable {
    var id: String
    var status: String
    var createdMs: Int64
    var eventId: String
}

/// An `invoice.paid` of this customer whose invoice no grant carries yet (granted ones are dropped).
struct PaidInvoice: Sendable, Hashable, Codable {
    var id: String
    var eventId: String
    var createdMs: Int64
    var amountPaid: Int64?
    var currency: String?
    var billingReason: String?
    var subscriptionId: String?
    /// Processing time since which the invoice has waited for its grant while a user named the customer
    /// (`PendingSince.held` while the ledger has delivered nothing since).
    var sinceMs: Int64?
    /// The evidence last emitted while `invoice-without-grant` is open.
    var open: InvoiceEvidence?

    var callsForGrant: Bool { (amountPaid ?? 0) > 0 && (billingReason?.hasPrefix("subscription") ?? false) }
}

/// Evidence of `paid_invoice_without_grant`.
struct InvoiceEvidence: Sendable, Hashable, Codable {
    var userId: String
    var amountPaid: Int64
    var currency: String?
    var subscriptionId: String?
    var billingReason: String?
    var createdMs: Int64

    func json(invoiceId: String, customerId: String) -> JSONValue {
        .object([
            "invoiceId": .string(invoiceId), "stripeCustomerId": .string(customerId), "amountPaid": .int(amountPaid),
            "currency": .optional(currency), "subscription": .optional(subscriptionId),
            "billingReason": .optional(billingReason), "paidAt": .string(Timestamp.format(createdMs)),
        ])
    }
}

/// Evidence of `stripe_paid_local_free` and `local_paid_stripe_inactive`.
struct StripeUserEvidence: Sendable, Hashable, Codable {
    var tier: Tier
    var customerId: String
    var subscriptions: [SubscriptionView]

    var json: JSONValue {
        .object([
            "tier": .string(tier.rawValue), "stripeCustomerId": .string(customerId),
            "subscriptions": .array(
                subscriptions.map { .object(["id": .string($0.id), "status": .string($0.status)]) }),
        ])
    }
}

/// State of a `stripeCustomer` key.
///
/// Size bound: the ids of the customer's events (a few per billing period), its subscriptions, the
/// invoices still waiting for a grant, and the users naming it.
public struct StripeCustomerState: Sendable, Hashable, Codable {
    /// The users whose latest snapshot names this customer, ascending. Stored first: the report counts
    /// customers without users from the stored bytes (`EntityState.stripeCustomerUsersByteOffset`).
    public internal(set) var users: [String] = []
    /// Every event id applied, ascending (an event counts once).
    var eventIds: [String] = []
    /// By subscription id, ascending.
    var subscriptions: [SubscriptionEntry] = []
    /// By invoice id, ascending.
    var invoices: [PaidInvoice] = []

    public init() {}

    /// Whether no user names the customer while it has events (the report's `unmappedStripeCustomers`).
    public var isUnmapped: Bool { users.isEmpty && !eventIds.isEmpty }

    var subscriptionViews: [SubscriptionView] { subscriptions.map { SubscriptionView(id: $0.id, status: $0.status) } }

    /// Records an event id; `false` when it was applied before.
    mutating func insertEventId(_ id: String) -> Bool { Self.insertSorted(id, into: &eventIds) }

    mutating func addUser(_ id: String) -> Bool { Self.insertSorted(id, into: &users) }

    mutating func removeUser(_ id: String) -> Bool {
        guard let index = users.firstIndex(of: id) else { return false }
        users.remove(at: index)
        return true
    }

    /// Applies a subscription event if it supersedes the state in force; `true` when a status changed.
    mutating func apply(subscription event: StripeEvent) -> Bool {
        let entry = SubscriptionEntry(
            id: event.objectId, status: event.status ?? "", createdMs: event.createdMs, eventId: event.id)
        guard let index = subscriptions.firstIndex(where: { $0.id >= event.objectId }),
            subscriptions[index].id == event.objectId
        else {
            let at = subscriptions.firstIndex { $0.id > event.objectId } ?? subscriptions.endIndex
            subscriptions.insert(entry, at: at)
            return true
        }
        let current = subscriptions[index]
        guard event.supersedes(createdMs: current.createdMs, eventId: current.eventId) else { return false }
        subscriptions[index] = entry
        return current.status != entry.status
    }

    /// Applies an `invoice.paid` if it supersedes the one in force for its invoice.
    mutating func apply(invoice event: StripeEvent) {
        var entry = PaidInvoice(
            id: event.objectId, eventId: event.id, createdMs: event.createdMs, amountPaid: event.amountPaid,
            currency: event.currency, billingReason: event.billingReason, subscriptionId: event.subscriptionId)
        if let index = invoices.firstIndex(where: { $0.id == event.objectId }) {
            let current = invoices[index]
            guard event.supersedes(createdMs: current.createdMs, eventId: current.eventId) else { return }
            entry.sinceMs = current.sinceMs
            entry.open = current.open
            invoices[index] = entry
        } else {
            let at = invoices.firstIndex { $0.id > event.objectId } ?? invoices.endIndex
            invoices.insert(entry, at: at)
        }
    }

    /// The earliest settle deadline of a waiting invoice; a `HeldDeadline` while all are held.
    public func settleDeadlineMs(settleMs: Int64) -> Int64? {
        var deadline = DeadlineCollector()
        for invoice in invoices where invoice.open == nil {
            guard let since = invoice.sinceMs else { continue }
            deadline.consider(since: since, settleMs: settleMs, check: .paidInvoiceWithoutGrant)
        }
        return deadline.result
    }

    private static func insertSorted(_ id: String, into list: inout [String]) -> Bool {
        var low = 0
        var high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid] < id { low = mid + 1 } else { high = mid }
        }
        if low < list.count, list[low] == id { return false }
        list.insert(id, at: low)
        return true
    }
}
