/// Held deadlines as ranges of the stored value, so that the database finds them with a few index
/// probes instead of testing every held row: a held deadline is `base | checks << 42 | since`, so for
/// each set of checks the deadlines that are (or are not) releasable form one contiguous range.
extension HeldDeadline {
    /// An inclusive range of stored held deadlines.
    public struct Range: Sendable, Hashable {
        public var lo: Int64
        public var hi: Int64
    }

    /// Every non-empty set of held checks, as the bits stored from bit 42.
    static var checkSets: ClosedRange<Int64> { 1...((1 << Int64(HeldCheck.allCases.count)) - 1) }

    /// The latest since time each check can be released from: the check waits on its inputs having
    /// delivered after `since`, so it can be released when `since` is below the earliest of their
    /// last deliveries (an input that never delivered releases nothing).
    static func releaseBound(_ check: HeldCheck, lastDelivered: [InputTopic: Int64]) -> Int64 {
        check.inputs.map { lastDelivered[$0] ?? -1 }.min() ?? -1
    }

    /// The deadlines of which at least one held check can be released now (the sweep's due entities).
    public static func releasableRanges(lastDelivered: [InputTopic: Int64]) -> [Range] {
        let bounds = HeldCheck.allCases.map { releaseBound($0, lastDelivered: lastDelivered) }
        return checkSets.compactMap { set in
            // Releasable when `since` is below the bound of any of the set's checks.
            let bound = HeldCheck.allCases.indices.filter { set & HeldCheck.allCases[$0].bit != 0 }.map { bounds[$0] }.max() ?? -1
            guard bound > 0 else { return nil }
            let prefix = base | (set << checkShift)
            return Range(lo: prefix, hi: prefix | min(bound - 1, sinceMask))
        }
    }

    /// The deadlines on which `check` is held now (not releasable): since at or after its bound.
    public static func heldRanges(of check: HeldCheck, lastDelivered: [InputTopic: Int64]) -> [Range] {
        let bound = max(releaseBound(check, lastDelivered: lastDelivered), 0)
        guard bound <= sinceMask else { return [] }
        return checkSets.filter { $0 & check.bit != 0 }.map { set in
            let prefix = base | (set << checkShift)
            return Range(lo: prefix | bound, hi: prefix | sinceMask)
        }
    }
}
