/// Which way an issue's money goes: `leakage` (given away unpaid), `customer_harm` (paid, not
/// delivered) or `unknown`.
public enum RiskDirection: String, Sendable, Codable, Hashable {
    case leakage
    case customerHarm = "customer_harm"
    case unknown
}

/// `atRisk` of an issue event: the credits the issue puts at risk (null when not measurable) and
/// which way.
public struct AtRisk: Sendable, Hashable, Codable, JSONFields {
    public var credits: Int64?
    public var direction: RiskDirection

    public init(credits: Int64?, direction: RiskDirection) {
        self.credits = credits
        self.direction = direction
    }

    public static let unknown = AtRisk(credits: nil, direction: .unknown)

    enum CodingKeys: String, CodingKey, CaseIterable { case credits, direction }

    // `credits` is always present, null when not measurable.
    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.int("credits", credits)
        try v.string("direction", direction.rawValue)
    }
}

extension CheckKind {
    /// The contract's amount-at-risk table, in one place: what an issue of this check with this
    /// evidence puts at risk. `duplicateExcess` is the duplicate-set sum (the amounts of every
    /// row but the earliest), which the evidence does not carry; only the duplicate checks read it.
    public func atRisk(evidence: JSONValue, duplicateExcess: Int64? = nil) -> AtRisk {
        func int(_ name: String) -> Int64? {
            if case .object(let fields) = evidence { fields[name]?.intValue } else { nil }
        }
        func string(_ name: String) -> String? {
            if case .object(let fields) = evidence { fields[name]?.stringValue } else { nil }
        }
        /// `|recorded − expected|`, leakage when the recorded value is higher.
        func difference(_ recorded: Int64?, _ expected: Int64?) -> AtRisk {
            guard let recorded, let expected else { return AtRisk(credits: nil, direction: .leakage) }
            let (delta, overflow) = recorded.subtractingReportingOverflow(expected)
            let magnitude = overflow || delta == .min ? Int64.max : abs(delta)
            return AtRisk(credits: magnitude, direction: recorded > expected ? .leakage : .customerHarm)
        }
        switch self {
        case .creditBalanceMismatch:
            return difference(int("balance"), int("ledgerBalanceAfter"))
        case .ledgerArithmeticBreak:
            return difference(int("balanceAfter"), int("expectedBalanceAfter"))
        case .freeUserSubscriptionGrant, .purchaseWithoutPaymentIntent, .subscriptionGrantWithoutInvoice:
            return AtRisk(credits: int("amount"), direction: .leakage)
        case .duplicateCreditEvent, .duplicatePaymentIntent, .duplicateInvoiceGrant:
            return AtRisk(credits: duplicateExcess, direction: .leakage)
        case .largeCreditMovement:
            let amount = int("amount")
            return AtRisk(credits: amount.map { $0 == .min ? Int64.max : abs($0) }, direction: .unknown)
        case .paidTierWithoutCustomer, .stalePaidSubscription, .nonAdminUnlimitedCredits, .localPaidStripeInactive:
            return AtRisk(credits: nil, direction: .leakage)
        case .stripePaidLocalFree, .paidInvoiceWithoutGrant:
            return AtRisk(credits: nil, direction: .customerHarm)
        case .tierSubscriptionMismatch:
            let tier = string("tier").flatMap(Tier.init(rawValue:))
            return AtRisk(credits: nil, direction: (tier?.isPaid ?? false) ? .leakage : .customerHarm)
        case .ledgerSequenceGap, .missingIdempotencyRecord, .planGateRegression, .inputStalled:
            return .unknown
        }
    }
}
