import Shared

/// The inputs a cross-topic check can wait on.
public enum InputTopic: String, Sendable, Hashable, CaseIterable, Codable {
    case ledger, accounts, webhooks

    /// The full topic name.
    public func topic(in topics: Topics) -> String {
        switch self {
        case .ledger: topics.ledger
        case .accounts: topics.accounts
        case .webhooks: topics.webhooks
        }
    }

    /// The input a full topic name belongs to, if it is one of the three.
    public init?(topic: String, in topics: Topics) {
        guard let input = Self.allCases.first(where: { $0.topic(in: topics) == topic }) else { return nil }
        self = input
    }
}

/// When each input last delivered a record, cluster-wide, so that a check waiting on a silent input
/// is held instead of opening (contract, *Input health*).
///
/// `firstDelivery(of:after:)` answers "when did the input deliver again after this moment": the
/// worker keeps the last delivery and the recent silences of each input (`Silence`), so the answer
/// is exact to within the silence threshold, also for moments long past.
public struct InputClock: Sendable, Hashable {
    /// A stretch without deliveries: the input delivered at `fromMs`, then nothing until `resumedAtMs`.
    public struct Silence: Sendable, Hashable {
        public var fromMs: Int64
        public var resumedAtMs: Int64
        public init(fromMs: Int64, resumedAtMs: Int64) {
            self.fromMs = fromMs
            self.resumedAtMs = resumedAtMs
        }
    }

    /// What is known about one input.
    public struct Input: Sendable, Hashable {
        public var lastDeliveredMs: Int64?
        /// Recent silences, oldest first.
        public var silences: [Silence]
        public init(lastDeliveredMs: Int64?, silences: [Silence] = []) {
            self.lastDeliveredMs = lastDeliveredMs
            self.silences = silences
        }
    }

    enum Mode: Sendable, Hashable {
        /// Inputs are not tracked: nothing is ever held (pipeline tests, the audit, a snapshot).
        case untracked
        case tracked([InputTopic: Input])
    }

    let mode: Mode

    /// Nothing is held: every check is released the moment its record is applied. Bootstrap applies
    /// its rows this way (one consistent snapshot delivers every input at once).
    public static let untracked = InputClock(mode: .untracked)

    /// Holds checks on the inputs as `inputs` describes them (a missing input has never delivered).
    public static func tracked(_ inputs: [InputTopic: Input]) -> InputClock { InputClock(mode: .tracked(inputs)) }

    public var isTracked: Bool { if case .tracked = mode { true } else { false } }

    /// The first moment `input` delivered a record after `sinceMs`, or `nil` while it has delivered
    /// nothing since (then a check waiting on it is held).
    public func firstDelivery(of input: InputTopic, after sinceMs: Int64) -> Int64? {
        guard case .tracked(let inputs) = mode else { return sinceMs }
        guard let state = inputs[input], let last = state.lastDeliveredMs, last > sinceMs else { return nil }
        for silence in state.silences where silence.fromMs <= sinceMs && sinceMs < silence.resumedAtMs {
            return silence.resumedAtMs
        }
        return sinceMs
    }

    /// The moment every one of `inputs` had delivered again after `sinceMs`, or `nil` while one is silent.
    public func release(_ inputs: [InputTopic], after sinceMs: Int64) -> Int64? {
        var released = sinceMs
        for input in inputs {
            guard let at = firstDelivery(of: input, after: sinceMs) else { return nil }
            released = max(released, at)
        }
        return released
    }
}

/// The checks that wait on other inputs and are held while those are silent (contract, *Input
/// health*), each with a fixed bit for the stored held deadline.
///
/// - Important: Bits are stored; never renumber (new checks take the next free bit).
public enum HeldCheck: Int, Sendable, Hashable, CaseIterable {
    case creditBalanceMismatch = 0
    case ledgerSequenceGap = 1
    case missingIdempotencyRecord = 2
    case stripePaidLocalFree = 3
    case localPaidStripeInactive = 4
    case paidInvoiceWithoutGrant = 5

    public var check: CheckKind {
        switch self {
        case .creditBalanceMismatch: .creditBalanceMismatch
        case .ledgerSequenceGap: .ledgerSequenceGap
        case .missingIdempotencyRecord: .missingIdempotencyRecord
        case .stripePaidLocalFree: .stripePaidLocalFree
        case .localPaidStripeInactive: .localPaidStripeInactive
        case .paidInvoiceWithoutGrant: .paidInvoiceWithoutGrant
        }
    }

    /// The inputs the check waits on: it is held while any of them has delivered nothing since.
    public var inputs: [InputTopic] {
        switch self {
        case .creditBalanceMismatch: [.accounts, .ledger]
        case .ledgerSequenceGap: [.ledger]
        case .missingIdempotencyRecord: [.webhooks]
        // A snapshot still on its way may change the tier; a grant row may still be on its way.
        case .stripePaidLocalFree, .localPaidStripeInactive: [.accounts]
        case .paidInvoiceWithoutGrant: [.ledger]
        }
    }

    public var bit: Int64 { 1 << Int64(rawValue) }
}

/// A pending check's "since" time as the states store it: a plain processing time once the check
/// is released (its settle time counts from there), or `held(since)` (negative) while its record
/// waits on a silent input. Rows stored before input health existed hold plain times: released.
enum PendingSince {
    @inline(__always) static func held(_ ms: Int64) -> Int64 { -max(ms, 0) - 1 }
    @inline(__always) static func isHeld(_ value: Int64) -> Bool { value < 0 }
    @inline(__always) static func heldSince(_ value: Int64) -> Int64 { -value - 1 }

    /// Releases a held value whose inputs delivered again (to the moment they did); else unchanged.
    static func release(_ value: Int64, waitingOn inputs: [InputTopic], clock: InputClock) -> Int64 {
        guard isHeld(value) else { return value }
        return clock.release(inputs, after: heldSince(value)) ?? value
    }
}

/// The stored deadline of an entity whose only pending checks are held: far above any processing
/// time, so the settle sweep never finds it, and carrying the held checks and the earliest held
/// since time, so that the sweep finds it as soon as the inputs delivered again, and the report can
/// list the held checks. Layout: bit 62 set, the checks' bits from bit 42, the since time below.
public enum HeldDeadline {
    public static let base: Int64 = 1 << 62
    static let checkShift: Int64 = 42
    public static let sinceMask: Int64 = (1 << 42) - 1

    public static func encode(checks: Int64, sinceMs: Int64) -> Int64 {
        base | (checks << checkShift) | min(max(sinceMs, 0), sinceMask)
    }

    public static func isHeld(_ deadline: Int64) -> Bool { deadline >= base }
    public static func sinceMs(_ deadline: Int64) -> Int64 { deadline & sinceMask }
    public static func checks(_ deadline: Int64) -> [HeldCheck] {
        let bits = (deadline & ~base) >> checkShift
        return HeldCheck.allCases.filter { bits & $0.bit != 0 }
    }

    /// Whether any held check of `deadline` can be released now (the entity is due for a tick).
    public static func isReleasable(_ deadline: Int64, clock: InputClock) -> Bool {
        guard isHeld(deadline) else { return false }
        let since = sinceMs(deadline)
        return checks(deadline).contains { clock.release($0.inputs, after: since) != nil }
    }
}

/// Collects an entity's settle deadline: the earliest released one, else the held checks.
struct DeadlineCollector {
    var deadline: Int64?
    var heldChecks: Int64 = 0
    var heldSinceMs: Int64 = .max

    mutating func consider(since value: Int64, settleMs: Int64, check: HeldCheck) {
        if PendingSince.isHeld(value) {
            heldChecks |= check.bit
            heldSinceMs = min(heldSinceMs, PendingSince.heldSince(value))
        } else {
            let at = addClamped(value, settleMs)
            deadline = min(deadline ?? at, at)
        }
    }

    mutating func consider(_ at: Int64) { deadline = min(deadline ?? at, at) }

    /// The stored deadline: the earliest released one (held checks are looked at again when it
    /// passes), else the held deadline, else none.
    var result: Int64? {
        if let deadline { return deadline }
        return heldChecks == 0 ? nil : HeldDeadline.encode(checks: heldChecks, sinceMs: heldSinceMs)
    }
}
