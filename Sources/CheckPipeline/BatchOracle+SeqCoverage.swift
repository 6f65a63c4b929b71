import Shared

extension BatchOracle {
    /// One user's seen seqs as ranges, in arrival order, bounded like the pipeline's state: beyond
    /// `UserState.maxSeqRuns` ranges the two lowest merge, and the hole between them is untracked
    /// (its seqs count as seen).
    struct SeqCoverage {
        private(set) var ranges: [ClosedRange<Int64>] = []
        private(set) var untrackedHoles: Int64 = 0
        private(set) var untrackedMissingSeqs: Int64 = 0

        func covers(_ seq: Int64) -> Bool { ranges.contains { $0.contains(seq) } }

        mutating func add(_ seq: Int64) {
            let at = ranges.firstIndex { $0.lowerBound > seq } ?? ranges.endIndex
            ranges.insert(seq...seq, at: at)
            // Merge with the neighbours the new seq touches (upper + 1 == next lower).
            var merged: [ClosedRange<Int64>] = []
            for range in ranges {
                if let last = merged.last, last.upperBound < Int64.max, last.upperBound + 1 == range.lowerBound {
                    merged[merged.count - 1] = last.lowerBound...range.upperBound
                } else {
                    merged.append(range)
                }
            }
            ranges = merged
            if ranges.count > UserState.maxSeqRuns {
                untrackedHoles += 1
                untrackedMissingSeqs = untrackedMissingSeqs &+ (ranges[1].lowerBound - ranges[0].upperBound - 1)
                ranges[0] = ranges[0].lowerBound...ranges[1].upperBound
                ranges.remove(at: 1)
            }
        }

        /// The tracked holes, from 1 (or the lowest seq seen under `first-seen`) to the highest seq.
        func holes(baseline: LedgerBaseline) -> [ClosedRange<Int64>] {
            var expected: Int64 = baseline == .firstSeen ? (ranges.first?.lowerBound ?? 1) : 1
            var holes: [ClosedRange<Int64>] = []
            for range in ranges {
                if range.lowerBound > expected { holes.append(expected...(range.lowerBound - 1)) }
                // Wrapping: a seq of Int64.max ends the ledger (no seq can follow it).
                expected = range.upperBound &+ 1
            }
            return holes
        }

        /// The evidence of a gap issue for `hole`.
        func evidence(_ hole: ClosedRange<Int64>) -> [String: JSONValue] {
            var evidence: [String: JSONValue] = [
                "firstMissingSeq": .int(hole.lowerBound), "lastMissingSeq": .int(hole.upperBound),
                "missingCount": .int(hole.upperBound - hole.lowerBound + 1),
            ]
            if untrackedHoles > 0 {
                evidence["untrackedHoles"] = .int(untrackedHoles)
                evidence["untrackedMissingSeqs"] = .int(untrackedMissingSeqs)
            }
            return evidence
        }
    }
}
