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
    /// `ASSURE_LEDGER_BASELINE`: where a user's ledger is expected to start.
    public var ledgerBaseline: LedgerBaseline

    public init(
        settleMs: Int64 = 30_000, periodDays: Int64 = 45, largeMovement: Int64 = 100_000,
        planPolicy: PlanPolicy = .builtIn, ledgerBaseline: LedgerBaseline = .full
    ) {
        self.settleMs = settleMs
        self.periodDays = periodDays
        self.largeMovement = largeMovement
        self.planPolicy = planPolicy
        self.ledgerBaseline = ledgerBaseline
    }

    public var periodMs: Int64 { periodDays * 86_400_000 }
}

/// `ASSURE_LEDGER_BASELINE`: the seq below which missing rows are not gaps.
public enum LedgerBaseline: String, Sendable, Hashable, CaseIterable {
    /// Every ledger starts at seq 1.
    case full
    /// A user's ledger starts at the lowest seq seen for the user so far (older rows archived).
    case firstSeen = "first-seen"
}
