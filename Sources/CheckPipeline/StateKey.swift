import Shared

/// The key of one entity state the pipeline reads or writes.
///
/// Every piece of pipeline state belongs to exactly one key, so the worker can load the states a
/// batch touches (locked, in sorted key order), run the pipeline over them and write back the
/// changed ones. `stringValue` (`<kind>:<id>`) is the stable form for the database.
public enum StateKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Per-user state: ledger sequence summary, account fields, tier history, open user issues.
    case user(String)
    /// The ledger rows that carried one Stripe event id, and whether its webhook record was seen.
    case stripeEvent(String)
    /// The positive `PURCHASE` rows that carried one payment intent.
    case paymentIntent(String)
    /// The positive `SUBSCRIPTION_GRANT` rows that carried one invoice.
    case invoice(String)
    /// The latest plan gate of one feature.
    case planGate(String)
    /// One Stripe customer: its subscriptions, paid invoices awaiting a grant, and the users naming it.
    case stripeCustomer(String)

    /// The kind names used in `stringValue`.
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case user, stripeEvent = "stripe_event", paymentIntent = "payment_intent", invoice
        case planGate = "plan_gate"
        case stripeCustomer = "stripe_customer"
    }

    public var kind: Kind {
        switch self {
        case .user: .user
        case .stripeEvent: .stripeEvent
        case .paymentIntent: .paymentIntent
        case .invoice: .invoice
        case .planGate: .planGate
        case .stripeCustomer: .stripeCustomer
        }
    }

    public var id: String {
        switch self {
        case .user(let id), .stripeEvent(let id), .paymentIntent(let id), .invoice(let id), .planGate(let id),
            .stripeCustomer(let id):
            id
        }
    }

    public init(kind: Kind, id: String) {
        switch kind {
        case .user: self = .user(id)
        case .stripeEvent: self = .stripeEvent(id)
        case .paymentIntent: self = .paymentIntent(id)
        case .invoice: self = .invoice(id)
        case .planGate: self = .planGate(id)
        case .stripeCustomer: self = .stripeCustomer(id)
        }
    }

    /// The stable string form `<kind>:<id>`, e.g. `user:user_123`, `stripe_event:evt_1`.
    public var stringValue: String { kind.rawValue + ":" + id }

    /// Parses `stringValue`; `nil` for an unknown kind or a missing `:`.
    public init?(stringValue: String) {
        guard let colon = stringValue.firstIndex(of: ":"),
            let kind = Kind(rawValue: String(stringValue[..<colon]))
        else { return nil }
        self.init(kind: kind, id: String(stringValue[stringValue.index(after: colon)...]))
    }

    public var description: String { stringValue }

    /// Sorted by the string form, the order in which the worker locks rows.
    public static func < (lhs: StateKey, rhs: StateKey) -> Bool { lhs.stringValue < rhs.stringValue }
}

extension StateKey: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let key = StateKey(stringValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad state key \(text)"))
        }
        self = key
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(stringValue)
    }
}
