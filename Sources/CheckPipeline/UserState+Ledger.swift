import Shared

extension UserState.Fields {
    /// What inserting a row into the seq runs found.
    enum RowInsertion {
        /// The seq is already taken.
        case duplicate
        /// Accepted; `previousBalance` is `balanceAfter` of seq-1 when known, `next` is row seq+1
        /// (`amount`, `balanceAfter`) when it arrived before this one.
        case accepted(previousBalance: Int64?, next: (amount: Int64, balanceAfter: Int64)?)
    }

    /// Records `row.seq` in the runs (seq ≥ 1), keeping the boundary data the arithmetic check needs.
    mutating func insert(_ row: LedgerRow, nowMs: Int64, baseline: LedgerBaseline = .full) -> RowInsertion {
        let s = row.seq
        let newRun = SeqRun(
            lo: s, hi: s, loAmount: row.ledgerMovement, loBalanceAfter: row.balanceAfter, hiBalanceAfter: row.balanceAfter,
            gapBelowSinceMs: PendingSince.held(nowMs))
        guard let lastRun = runs.last else {
            runs.append(newRun)
            return .accepted(previousBalance: nil, next: nil)
        }
        // Fast path: rows mostly arrive in order, at the top.
        if s > lastRun.hi {
            if s == lastRun.hi + 1 {
                let last = runs.count - 1
                runs[last].hi = s
                runs[last].hiBalanceAfter = row.balanceAfter
                return .accepted(previousBalance: lastRun.hiBalanceAfter, next: nil)
            }
            runs.append(newRun)
            foldLowestHoleBeyondCap()
            return .accepted(previousBalance: nil, next: nil)
        }
        // The first run with hi >= s.
        var low = 0
        var high = runs.count - 1
        while low < high {
            let mid = (low + high) / 2
            if runs[mid].hi >= s { high = mid } else { low = mid + 1 }
        }
        let i = low
        if runs[i].lo <= s { return .duplicate }
        let joinsBelow = i > 0 && runs[i - 1].hi == s - 1
        let joinsAbove = runs[i].lo == s + 1
        let previous = joinsBelow ? runs[i - 1].hiBalanceAfter : nil
        let next = joinsAbove ? (amount: runs[i].loAmount, balanceAfter: runs[i].loBalanceAfter) : nil
        switch (joinsBelow, joinsAbove) {
        case (true, true):
            runs[i - 1].hi = runs[i].hi
            runs[i - 1].hiBalanceAfter = runs[i].hiBalanceAfter
            runs.remove(at: i)
        case (true, false):
            runs[i - 1].hi = s
            runs[i - 1].hiBalanceAfter = row.balanceAfter
        case (false, true):
            runs[i].lo = s
            runs[i].loAmount = row.ledgerMovement
            runs[i].loBalanceAfter = row.balanceAfter
        case (false, false):
            var run = newRun
            run.gapBelowSinceMs = runs[i].gapBelowSinceMs
            runs.insert(run, at: i)
            // A new lowest seq under `first-seen` lowers the baseline: the hole above it is new.
            if i == 0, baseline == .firstSeen { runs[1].gapBelowSinceMs = PendingSince.held(nowMs) }
            foldLowestHoleBeyondCap()
        }
        return .accepted(previousBalance: previous, next: next)
    }

    /// Beyond `UserState.maxSeqRuns` runs, merges the two lowest: the hole between them is no
    /// longer tracked (its seqs count as seen from now on, and an issue open for it stays open,
    /// untouched). The count shows in the evidence of the user's later gap issues.
    private mutating func foldLowestHoleBeyondCap() {
        guard runs.count > UserState.maxSeqRuns else { return }
        let first = runs[0].hi + 1
        let missing = runs[1].lo - first
        runs[0].hi = runs[1].hi
        runs[0].hiBalanceAfter = runs[1].hiBalanceAfter
        runs.remove(at: 1)
        openGaps.removeAll { $0.first == first }
        var untracked = untracked ?? UntrackedHoles(count: 0, missingSeqs: 0)
        untracked.count += 1
        untracked.missingSeqs = untracked.missingSeqs &+ missing
        self.untracked = untracked
    }

    /// The holes below the highest seq, ascending, with the processing time since which each is missing.
    func holes(baseline: LedgerBaseline = .full) -> [(gap: GapEvidence, sinceMs: Int64)] {
        var result: [(gap: GapEvidence, sinceMs: Int64)] = []
        // Under `first-seen` the ledger starts at the lowest seq seen: nothing below it is missing.
        var below: Int64 = baseline == .firstSeen ? (runs.first.map { $0.lo - 1 } ?? 0) : 0
        for run in runs {
            if run.lo > below + 1 { result.append((GapEvidence(first: below + 1, last: run.lo - 1), run.gapBelowSinceMs)) }
            below = run.hi
        }
        return result
    }

    /// Adds a snapshot's tier at its `updatedAt` to the tier step function, collapsing repeats.
    mutating func addTierPoint(atMs: Int64, tier: Tier) {
        var index = tierPoints.endIndex
        while index > tierPoints.startIndex, tierPoints[index - 1].atMs > atMs { index -= 1 }
        if index > tierPoints.startIndex, tierPoints[index - 1].tier == tier { return }
        tierPoints.insert(TierPoint(atMs: atMs, tier: tier), at: index)
        if index + 1 < tierPoints.endIndex, tierPoints[index + 1].tier == tier { tierPoints.remove(at: index + 1) }
        if tierPoints.count > UserState.maxTierPoints { tierPoints.removeFirst() }
    }

    /// The tier of the latest snapshot with `updatedAt <= atMs`, else of the earliest snapshot.
    func tier(atMs: Int64) -> Tier? {
        var result = tierPoints.first?.tier
        for point in tierPoints {
            if point.atMs > atMs { break }
            result = point.tier
        }
        return result
    }
}
