import Shared

/// The state of one keyed entity, as the worker stores it (Codable, Sendable value).
public enum EntityState: Sendable, Hashable, Codable {
    // `UserState` is a one-pointer copy-on-write value; the other (rarely mutated) states are
    // boxed so every slot stays small.
    case user(UserState)
    indirect case stripeEvent(StripeEventState)
    /// The state of a `paymentIntent` or `invoice` key.
    indirect case carrierGroup(CarrierGroupState)
    indirect case planGate(PlanGateState)
    indirect case stripeCustomer(StripeCustomerState)

    /// Processing time at which something pending must be re-evaluated (`tick`), if any.
    public func settleDeadlineMs(settleMs: Int64) -> Int64? {
        switch self {
        case .user(let state): state.settleDeadlineMs(settleMs: settleMs)
        case .stripeEvent(let state): state.settleDeadlineMs(settleMs: settleMs)
        case .stripeCustomer(let state): state.settleDeadlineMs(settleMs: settleMs)
        case .carrierGroup, .planGate: nil
        }
    }

    /// Event time (watermark) at which the stale-subscription check flips, if any.
    public func staleAtEventMs(periodMs: Int64) -> Int64? {
        if case .user(let state) = self { return state.staleAtEventMs(periodMs: periodMs) }
        return nil
    }

    public var userState: UserState? { if case .user(let s) = self { s } else { nil } }
    public var stripeEventState: StripeEventState? { if case .stripeEvent(let s) = self { s } else { nil } }
    public var carrierGroupState: CarrierGroupState? { if case .carrierGroup(let s) = self { s } else { nil } }
    public var planGateState: PlanGateState? { if case .planGate(let s) = self { s } else { nil } }
    public var stripeCustomerState: StripeCustomerState? { if case .stripeCustomer(let s) = self { s } else { nil } }
}

/// Overflow-safe `a + b` for deadlines (`Int64.max` stands for "never" / "+infinity").
@inline(__always)
func addClamped(_ a: Int64, _ b: Int64) -> Int64 {
    let (sum, overflow) = a.addingReportingOverflow(b)
    return overflow ? (b > 0 ? .max : .min) : sum
}
