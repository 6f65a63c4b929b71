import CheckPipeline
import Shared

/// A small, seedable PRNG (SplitMix64), so every failing case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
    mutating func int(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &self) }
}

/// One record delivered to the pipeline at processing time `atMs`.
struct Delivery {
    var atMs: Int64
    var record: BillingRecord
}

/// Seeded random input streams over many users, with redeliveries, reorderings, cross-topic skew
/// and faults of every kind the checks look for.
///
/// Timing model (what makes the incremental result exact): ledger rows have event times on a
/// grid of `quantum`, account snapshots half-way between, and snapshots reach the pipeline less
/// than half a quantum after their event time, in order per user (one partition per key). So any
/// snapshot a grant's "tier in effect" depends on (`updatedAt <= createdAt + settle`) arrives
/// before the grant settles. Ledger rows, webhook records and gates may lag far more than the
/// settle time (gaps and missing webhooks open and later heal).
enum StreamGenerator {
    static let quantum: Int64 = 1_000
    static let base: Int64 = 1_790_000_000_000
    static let settings = CheckSettings(settleMs: 4 * quantum, periodDays: 1, largeMovement: 100_000)
    static let features = ["basic_reports", "advanced_exports", "sso", "team_workspaces", "beta_only"]

    static func make(seed: UInt64, users: Int) -> [Delivery] { make(seed: seed, userIndices: Array(0..<users)) }

    /// The stream of only some users (user `i` depends only on the seed and `i`), for shrinking.
    static func make(seed: UInt64, userIndices: [Int]) -> [Delivery] {
        var out: [Delivery] = []
        for index in userIndices {
            var rng = SplitMix64(seed: seed &* 0x1000_0000_01B3 &+ UInt64(index) &* 0x9E37_79B9)
            user(index: index, rng: &rng, into: &out)
        }
        var rng = SplitMix64(seed: seed ^ 0xDEAD_BEEF)
        gates(rng: &rng, into: &out)
        // Stable by processing time: equal times keep generation order.
        return out.enumerated().sorted { ($0.element.atMs, $0.offset) < ($1.element.atMs, $1.offset) }.map(\.element)
    }

    private static func user(index: Int, rng: inout SplitMix64, into out: inout [Delivery]) {
        let q = quantum
        let userId = "u\(index)"
        var t = base + rng.int(0...20) * q
        var seq: Int64 = 0
        var balance: Int64 = 0
        var version: Int64 = 0
        var tier = Tier.allCases.randomElement(using: &rng)!
        // A few users share a customer; a user without one still has Stripe events (an unmapped customer).
        let customer: String? = rng.chance(0.85) ? (rng.chance(0.1) ? "cus_shared_\(rng.int(0...1))" : "cus_\(index)") : nil
        let stripeCustomer = customer ?? "cus_\(index)"
        var stripeEvents = 0
        func stripe(_ type: StripeEvent.Kind, object: String, at t: Int64, status: String? = nil, invoice: Bool = false) {
            stripeEvents += 1
            let event = StripeEvent(
                id: "evt_s_\(userId)_\(stripeEvents)", type: type,
                // Whole seconds, jittered both ways: out of order, with ties broken by the event id.
                createdMs: (t / 1000 + rng.int(-4...4)) * 1000, customerId: stripeCustomer, objectId: object,
                status: status, subscriptionId: invoice ? "sub_\(userId)_0" : nil,
                billingReason: invoice ? (rng.chance(0.1) ? "manual" : "subscription_cycle") : nil,
                amountPaid: invoice ? (rng.chance(0.15) ? 0 : rng.int(500...5_000)) : nil,
                currency: invoice ? "usd" : nil)
            let at = t + rng.int(-5_000...20_000)
            out.append(Delivery(atMs: at, record: .stripe(event)))
            if rng.chance(0.05) { out.append(Delivery(atMs: at + rng.int(0...20_000), record: .stripe(event))) }
        }
        let role: Role = rng.chance(0.9) ? .user : .admin
        let steps = rng.int(0...24)
        for _ in 0..<steps {
            if rng.chance(0.06) {
                t += rng.int(40_000...130_000) * q  // half a day to a day and a half
            } else {
                t += rng.int(1...8) * q
            }
            if rng.chance(0.7) {
                seq += 1
                let type = LedgerType.allCases.randomElement(using: &rng)!
                var amount: Int64
                switch type {
                case .purchase: amount = rng.chance(0.05) ? rng.int(100_000...150_000) : rng.int(1...5_000)
                case .subscriptionGrant: amount = rng.chance(0.1) ? 0 : rng.int(100...2_000)
                case .usage: amount = -rng.int(1...500)
                case .refund: amount = -rng.int(1...3_000)
                case .adjustment: amount = rng.int(-500...500)
                case .audit: amount = rng.chance(0.5) ? 0 : rng.int(-100...100)
                }
                if rng.chance(0.02) { amount = -rng.int(100_000...120_000) }
                func id(_ prefix: String, shared: Double) -> String {
                    rng.chance(shared) ? "\(prefix)_shared_\(rng.int(0...3))" : "\(prefix)_\(userId)_\(seq)"
                }
                var event: String? = nil
                var intent: String? = nil
                var invoice: String? = nil
                switch type {
                case .purchase:
                    event = id("evt", shared: 0.05)
                    intent = rng.chance(0.05) ? nil : id("pi", shared: 0.05)
                case .subscriptionGrant:
                    event = id("evt", shared: 0.05)
                    invoice = rng.chance(0.05) ? (rng.chance(0.5) ? nil : "") : id("in", shared: 0.05)
                case .refund:
                    event = rng.chance(0.5) ? id("evt", shared: 0.05) : nil
                    intent = rng.chance(0.5) ? id("pi", shared: 0.2) : nil
                default:
                    if rng.chance(0.05) { event = id("evt", shared: 0.5) }
                }
                var balanceAfter = balance &+ amount
                if rng.chance(0.03) { balanceAfter += rng.int(-50...50) }  // arithmetic fault
                balance = balanceAfter
                let row = LedgerRow(
                    id: "ctx_\(userId)_\(seq)", userId: userId, seq: seq, type: type, amount: amount,
                    balanceAfter: balanceAfter, stripeEventId: event, stripePaymentIntentId: intent,
                    stripeInvoiceId: invoice, createdAtMs: t)
                if type == .subscriptionGrant, let invoice, !invoice.isEmpty, rng.chance(0.6) {
                    stripe(.invoicePaid, object: invoice, at: t, invoice: true)
                }
                if rng.chance(0.03) { continue }  // lost row: a gap (its webhook is lost too)
                let at = t + rng.int(0...6_000)
                out.append(Delivery(atMs: at, record: .ledger(row)))
                if rng.chance(0.1) { out.append(Delivery(atMs: at + rng.int(0...20_000), record: .ledger(row))) }
                if let event, rng.chance(0.9) {
                    let webhook = WebhookRecord(
                        eventId: event, type: "invoice.paid", stripePaymentIntentId: intent, stripeInvoiceId: invoice,
                        processedAtMs: rng.chance(0.1) ? nil : t + rng.int(0...2) * q, source: "stripe")
                    let whAt = t + rng.int(0...10_000)
                    out.append(Delivery(atMs: whAt, record: .webhook(webhook)))
                    if rng.chance(0.05) { out.append(Delivery(atMs: whAt + rng.int(0...5_000), record: .webhook(webhook))) }
                }
            } else if rng.chance(0.3) {
                let types: [StripeEvent.Kind] = [
                    .subscriptionCreated, .subscriptionUpdated, .subscriptionDeleted, .subscriptionPaused,
                    .subscriptionResumed,
                ]
                if rng.chance(0.1) {
                    stripe(.invoicePaid, object: "in_nogrant_\(userId)_\(stripeEvents)", at: t, invoice: true)
                } else {
                    let statuses = [
                        "active", "trialing", "past_due", "canceled", "unpaid", "incomplete_expired", "paused", "incomplete",
                    ]
                    stripe(
                        types.randomElement(using: &rng)!, object: "sub_\(userId)_\(rng.int(0...1))", at: t,
                        status: statuses.randomElement(using: &rng)!)
                }
            } else {
                if rng.chance(0.3) { tier = Tier.allCases.randomElement(using: &rng)! }
                version += 1
                var status: String? =
                    tier.isPaid ? (rng.chance(0.8) ? "active" : "trialing") : (rng.chance(0.5) ? "canceled" : nil)
                if rng.chance(0.06) { status = ["active", "canceled", "incomplete_expired", "past_due", nil].randomElement(using: &rng)! }
                let snapshot = AccountSnapshot(
                    userId: userId, role: rng.chance(0.05) ? .superAdmin : role, tier: tier,
                    credits: rng.chance(0.9) ? balance : balance + rng.int(1...50), unlimitedCredits: rng.chance(0.04),
                    stripeCustomerId: rng.chance(0.03) ? nil : customer, stripeSubscriptionId: nil,
                    subscriptionStatus: status, updatedAtMs: t + q / 2, version: rng.chance(0.05) ? nil : version)
                let at = t + q / 2 + rng.int(0...(q / 2 - 50))
                out.append(Delivery(atMs: at, record: .account(snapshot)))
                if rng.chance(0.05) { out.append(Delivery(atMs: at + rng.int(0...20_000), record: .account(snapshot))) }
            }
        }
    }

    private static func gates(rng: inout SplitMix64, into out: inout [Delivery]) {
        let policy = settings.planPolicy
        for feature in features {
            var t = base + rng.int(0...100) * quantum
            for _ in 0..<rng.int(0...3) {
                t += rng.int(0...5) * quantum
                let expected = policy.expectedTiers(for: feature) ?? [.pro]
                let allowed: Set<Tier> = rng.chance(0.5) ? expected : Set(Tier.allCases.filter { _ in rng.chance(0.5) })
                out.append(
                    Delivery(
                        atMs: t + rng.int(0...30_000),
                        record: .planGate(PlanGate(feature: feature, allowedTiers: allowed, updatedAtMs: t))))
            }
        }
    }
}
