/// The settings the checks depend on, with the contract's defaults.
public struct CheckSettings: Sendable, Hashable {
    /// `ASSURE_SETTLE_MS`: how long a cross-topic mismatch must persist before it opens.
    public var settleMs: Int64
    /// `ASSURE_PERIOD_DAYS`: period of the stale-subscription check.
    public var periodDays: Int64
    /// `ASSURE_LARGE_MOVEMENT`: `abs(amount)` at or above this is a large credit movement.
    public var largeMovement: Int64
    /// `ASSURE_PLAN_POLICY`: expected plan-gate rules.
    public var planPolicy: PlanPolicy

    public init(
        settleMs: Int64 = 30_000, periodDays: Int64 = 45, largeMovement: Int64 = 100_000,
        planPolicy: PlanPolicy = .builtIn
    ) {
        self.settleMs = settleMs
        self.periodDays = periodDays
        self.largeMovement = largeMovement
        self.planPolicy = planPolicy
    }

    public var periodMs: Int64 { periodDays * 86_400_000 }
}
