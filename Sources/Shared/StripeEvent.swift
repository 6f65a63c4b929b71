/// One Stripe Event object of a type the checks read (`billing.stripe.v1`), reduced to the fields read.
///
/// Stripe's own JSON carries much more; the decoder keeps only these (see the contract's *Stripe events*).
public struct StripeEvent: Sendable, Hashable, Codable {
    /// The event types the checks read; every other type is counted and skipped.
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        case subscriptionCreated = "customer.subscription.created"
        case subscriptionUpdated = "customer.subscription.updated"
        case subscriptionDeleted = "customer.subscription.deleted"
        case subscriptionPaused = "customer.subscription.paused"
        case subscriptionResumed = "customer.subscription.resumed"
        case invoicePaid = "invoice.paid"

        /// A `customer.subscription.*` event (its object is a subscription).
        public var isSubscription: Bool { self != .invoicePaid }
    }

    /// Stripe's event id (`evt_…`): an event counts once by it.
    public var id: String
    public var type: Kind
    /// Stripe's `created` (seconds since the epoch) in milliseconds: the event time.
    public var createdMs: Int64
    /// `data.object.customer` (an id, or the `id` of an expanded customer object).
    public var customerId: String
    /// `data.object.id`: the subscription id or the invoice id.
    public var objectId: String
    /// Subscription events: the subscription's status (`canceled` for `deleted`, whatever the object says).
    public var status: String?
    /// `invoice.paid`: the invoice's `subscription`.
    public var subscriptionId: String?
    /// `invoice.paid`: `billing_reason`.
    public var billingReason: String?
    /// `invoice.paid`: `amount_paid` in the currency's smallest unit.
    public var amountPaid: Int64?
    /// `invoice.paid`: `currency`.
    public var currency: String?

    public init(
        id: String, type: Kind, createdMs: Int64, customerId: String, objectId: String, status: String? = nil,
        subscriptionId: String? = nil, billingReason: String? = nil, amountPaid: Int64? = nil, currency: String? = nil
    ) {
        self.id = id
        self.type = type
        self.createdMs = createdMs
        self.customerId = customerId
        self.objectId = objectId
        self.status = type == .subscriptionDeleted ? "canceled" : status
        self.subscriptionId = subscriptionId
        self.billingReason = billingReason
        self.amountPaid = amountPaid
        self.currency = currency
    }

    /// An `invoice.paid` that calls for a subscription grant: `amount_paid` > 0 and a `billing_reason`
    /// starting with `subscription`.
    public var callsForGrant: Bool {
        type == .invoicePaid && (amountPaid ?? 0) > 0 && (billingReason?.hasPrefix("subscription") ?? false)
    }

    /// Whether this event's state wins over `other`'s for the same subscription or invoice: the greater
    /// `created`, ties broken by the greater event id.
    public func supersedes(createdMs otherCreated: Int64, eventId otherId: String) -> Bool {
        (createdMs, id) > (otherCreated, otherId)
    }
}
