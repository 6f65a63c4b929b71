import CheckPipeline
import Testing

/// The held-deadline ranges the database probes must select exactly the deadlines the per-row rule
/// selects: a held check can be released once every input it waits on delivered after its since
/// time (an input that never delivered releases nothing).
@Suite struct HeldDeadlineRangeTests {
    static func releasable(_ check: HeldCheck, since: Int64, _ lastDelivered: [InputTopic: Int64]) -> Bool {
        check.inputs.allSatisfy { (lastDelivered[$0] ?? -1) > since }
    }

    static func contains(_ ranges: [HeldDeadline.Range], _ value: Int64) -> Bool {
        ranges.contains { $0.lo <= value && value <= $0.hi }
    }

    @Test func rangesSelectExactlyWhatThePerRowRuleSelects() {
        var rng = SplitMix64(seed: 5)
        let inputs: [InputTopic] = [.ledger, .accounts, .webhooks]
        for _ in 0..<300 {
            var lastDelivered: [InputTopic: Int64] = [:]
            for input in inputs where rng.next() % 4 != 0 { lastDelivered[input] = Int64(rng.next() % 1_000) }
            let releasable = HeldDeadline.releasableRanges(lastDelivered: lastDelivered)
            let held = Dictionary(uniqueKeysWithValues: HeldCheck.allCases.map {
                ($0, HeldDeadline.heldRanges(of: $0, lastDelivered: lastDelivered))
            })
            for _ in 0..<200 {
                let bits = Int64(rng.next() % 63) + 1
                let checks = HeldCheck.allCases.filter { bits & $0.bit != 0 }
                let edges: [Int64] = [0, 1, 999, 1_000, HeldDeadline.sinceMask]
                let since = rng.next() % 3 == 0 ? edges[Int(rng.next() % 5)] : Int64(rng.next() % 1_002)
                let deadline = HeldDeadline.encode(checks: bits, sinceMs: since)
                let expected = checks.contains { Self.releasable($0, since: since, lastDelivered) }
                #expect(Self.contains(releasable, deadline) == expected, "bits \(bits) since \(since) \(lastDelivered)")
                for check in HeldCheck.allCases {
                    let isHeld = checks.contains(check) && !Self.releasable(check, since: since, lastDelivered)
                    #expect(Self.contains(held[check]!, deadline) == isHeld, "\(check) bits \(bits) since \(since)")
                }
            }
            // Plain (released) deadlines are in no range.
            #expect(!Self.contains(releasable, 1_790_000_000_000))
            #expect(!HeldCheck.allCases.contains { Self.contains(held[$0]!, 1_790_000_000_000) })
        }
    }
}
