import Shared

/// Everything the checks need to know about one user, and nothing more.
///
/// Size bound (does not grow with the length of the user's ledger):
/// - `runs`: one entry per maximal run of seen `seq`s, i.e. (number of holes below the highest
///   seq) + 1. A hole is either an in-flight reordering (closed within the settle time) or an open
///   `ledger-gap` issue, and at most `UserState.maxSeqRuns` runs are kept: beyond that the lowest
///   hole is no longer tracked (`untracked`), so one user writing every other seq cannot make
///   each of their writes cost O(ledger length).
/// - `openGaps`: at most one entry per hole.
/// - `tierPoints`: one entry per tier *change* (consecutive snapshots on the same tier collapse),
///   capped at `UserState.maxTierPoints` (the oldest change is dropped beyond it).
/// - `pendingGrants`: `SUBSCRIPTION_GRANT` rows that arrived within the last settle time (or
///   before the user's first account snapshot was seen).
/// - everything else is a fixed number of scalars plus the latest account snapshot.
public struct UserState: Sendable, Hashable, Codable {
    /// Most tier changes kept for "tier in effect at createdAt".
    public static let maxTierPoints = 64
    /// Most seq runs kept per user (so at most this many holes are tracked, counting the one below
    /// the lowest run under the `full` baseline).
    public static let maxSeqRuns = 1000

    /// The stored fields.
    struct Fields: Sendable, Hashable, Codable {
        var userId: String
        /// Maximal runs of seen seqs, ascending and disjoint.
        var runs: [SeqRun] = []
        /// The latest applied account snapshot.
        var account: AccountSnapshot?
        /// The highest `version` applied so far.
        var maxVersion: Int64?
        /// Tier step function over `updatedAt`: tier changes, ascending.
        var tierPoints: [TierPoint] = []
        /// Start of the current paid streak (earliest paid `updatedAt` since last seen on FREE).
        var paidSinceMs: Int64?
        /// `createdAt` of the newest `SUBSCRIPTION_GRANT` row with a `stripeInvoiceId`.
        var lastInvoiceGrantMs: Int64?
        /// Grant rows waiting for the settle time before the free-tier check decides them.
        var pendingGrants: [PendingGrant] = []
        /// Processing time since which account credits and ledger balance disagree
        /// (`PendingSince.held` while an input has delivered nothing since).
        var mismatchSinceMs: Int64?

        // The self-healing issues of this user that are open, with the evidence last emitted.
        var openBalance: BalanceEvidence?
        var openGaps: [GapEvidence] = []
        var openPaidWithoutCustomer: AccountEvidence?
        var openTierMismatch: AccountEvidence?
        var openUnlimited: AccountEvidence?
        var openStale: StaleEvidence?

        // Stripe (appended: rows written before them end here).
        /// The subscriptions of the customer the account names, as last pushed or read.
        var stripeView: StripeView?
        /// Processing time since which Stripe says paid while the tier is FREE
        /// (`PendingSince.held` while accounts have delivered nothing since).
        var paidFreeSinceMs: Int64?
        /// Processing time since which Stripe says inactive while the tier is paid (held as above).
        var inactivePaidSinceMs: Int64?
        var openStripePaidFree: StripeUserEvidence?
        var openStripeInactive: StripeUserEvidence?
        // Appended after the Stripe fields.
        /// The holes no longer tracked because the user had more than `maxSeqRuns` runs.
        var untracked: UntrackedHoles?
    }

    /// Copy-on-write storage: the state is mutated in place on the hot path (one user per
    /// ledger row) and stays one pointer wide inside `EntityState`.
    // @unchecked: the box is only mutated through `fields`' `_modify`, after
    // `isKnownUniquelyReferenced` made it unique, exactly like the standard library's CoW types.
    final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    var fields: Fields {
        get { box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    public init(userId: String) { box = Box(Fields(userId: userId)) }

    public static func == (lhs: UserState, rhs: UserState) -> Bool { lhs.box === rhs.box || lhs.fields == rhs.fields }
    public func hash(into hasher: inout Hasher) { hasher.combine(fields) }
    public init(from decoder: any Decoder) throws { box = Box(try Fields(from: decoder)) }
    public func encode(to encoder: any Encoder) throws { try fields.encode(to: encoder) }

    public internal(set) var userId: String {
        get { box.fields.userId }
        _modify { yield &fields.userId }
    }
    var runs: [SeqRun] {
        get { box.fields.runs }
        _modify { yield &fields.runs }
    }
    public internal(set) var account: AccountSnapshot? {
        get { box.fields.account }
        _modify { yield &fields.account }
    }
    var maxVersion: Int64? {
        get { box.fields.maxVersion }
        _modify { yield &fields.maxVersion }
    }
    var tierPoints: [TierPoint] {
        get { box.fields.tierPoints }
        _modify { yield &fields.tierPoints }
    }
    var paidSinceMs: Int64? {
        get { box.fields.paidSinceMs }
        _modify { yield &fields.paidSinceMs }
    }
    var lastInvoiceGrantMs: Int64? {
        get { box.fields.lastInvoiceGrantMs }
        _modify { yield &fields.lastInvoiceGrantMs }
    }
    var pendingGrants: [PendingGrant] {
        get { box.fields.pendingGrants }
        _modify { yield &fields.pendingGrants }
    }
    var mismatchSinceMs: Int64? {
        get { box.fields.mismatchSinceMs }
        _modify { yield &fields.mismatchSinceMs }
    }
    var openBalance: BalanceEvidence? {
        get { box.fields.openBalance }
        _modify { yield &fields.openBalance }
    }
    var openGaps: [GapEvidence] {
        get { box.fields.openGaps }
        _modify { yield &fields.openGaps }
    }
    var openPaidWithoutCustomer: AccountEvidence? {
        get { box.fields.openPaidWithoutCustomer }
        _modify { yield &fields.openPaidWithoutCustomer }
    }
    var openTierMismatch: AccountEvidence? {
        get { box.fields.openTierMismatch }
        _modify { yield &fields.openTierMismatch }
    }
    var openUnlimited: AccountEvidence? {
        get { box.fields.openUnlimited }
        _modify { yield &fields.openUnlimited }
    }
    var openStale: StaleEvidence? {
        get { box.fields.openStale }
        _modify { yield &fields.openStale }
    }
    var stripeView: StripeView? { box.fields.stripeView }

    /// The highest seq seen, `nil` before the first row (a repair's audit row takes `highestSeq + 1`).
    public var highestSeq: Int64? { runs.last?.hi }
    /// `balanceAfter` of the highest-seq row.
    public var ledgerBalance: Int64? { runs.last?.hiBalanceAfter }
    /// Number of seq holes below the highest seq (in flight or open as gaps).
    public var holeCount: Int { holeCount(baseline: .full) }
    /// Number of seq holes below the highest seq, counted from where `baseline` says the ledger starts.
    public func holeCount(baseline: LedgerBaseline) -> Int {
        runs.isEmpty ? 0 : runs.count - 1 + (baseline == .full && runs[0].lo > 1 ? 1 : 0)
    }
    /// Issue ids of the self-healing issues this state holds open.
    public var openIssueIds: [String] {
        var ids: [String] = []
        if openBalance != nil { ids.append(CheckKind.creditBalanceMismatch.issueId(userId)) }
        for gap in openGaps { ids.append(CheckKind.ledgerSequenceGap.issueId(userId, String(gap.first))) }
        if openPaidWithoutCustomer != nil { ids.append(CheckKind.paidTierWithoutCustomer.issueId(userId)) }
        if openTierMismatch != nil { ids.append(CheckKind.tierSubscriptionMismatch.issueId(userId)) }
        if openUnlimited != nil { ids.append(CheckKind.nonAdminUnlimitedCredits.issueId(userId)) }
        if openStale != nil { ids.append(CheckKind.stalePaidSubscription.issueId(userId)) }
        if box.fields.openStripePaidFree != nil { ids.append(CheckKind.stripePaidLocalFree.issueId(userId)) }
        if box.fields.openStripeInactive != nil { ids.append(CheckKind.localPaidStripeInactive.issueId(userId)) }
        return ids
    }

    /// Processing time at which a pending mismatch, hole or grant must be re-evaluated.
    /// While a pending check is held on a silent input, a `HeldDeadline` stands for it.
    public func settleDeadlineMs(settleMs: Int64, baseline: LedgerBaseline = .full) -> Int64? {
        var deadline = DeadlineCollector()
        if openBalance == nil, let since = mismatchSinceMs {
            deadline.consider(since: since, settleMs: settleMs, check: .creditBalanceMismatch)
        }
        if !runs.isEmpty, holeCount(baseline: baseline) > openGaps.count {
            if baseline == .full, runs[0].lo > 1 {
                deadline.consider(since: runs[0].gapBelowSinceMs, settleMs: settleMs, check: .ledgerSequenceGap)
            }
            for run in runs.dropFirst() {
                deadline.consider(since: run.gapBelowSinceMs, settleMs: settleMs, check: .ledgerSequenceGap)
            }
        }
        if !tierPoints.isEmpty { for grant in pendingGrants { deadline.consider(grant.deadlineMs) } }
        let fields = box.fields
        if fields.openStripePaidFree == nil, let since = fields.paidFreeSinceMs {
            deadline.consider(since: since, settleMs: settleMs, check: .stripePaidLocalFree)
        }
        if fields.openStripeInactive == nil, let since = fields.inactivePaidSinceMs {
            deadline.consider(since: since, settleMs: settleMs, check: .localPaidStripeInactive)
        }
        return deadline.result
    }

    /// Watermark at which the stale-subscription check flips to stale, while it is not open.
    public func staleAtEventMs(periodMs: Int64) -> Int64? {
        guard openStale == nil, let account, account.tier.isPaid, let since = paidSinceMs else { return nil }
        let anchor = max(since, lastInvoiceGrantMs ?? since)
        return addClamped(addClamped(anchor, periodMs), 1)
    }
}

/// A maximal run `lo...hi` of seen seqs with what the arithmetic check needs at its two ends.
struct SeqRun: Sendable, Hashable, Codable {
    var lo: Int64
    var hi: Int64
    /// `amount` and `balanceAfter` of row `lo` (to check it once `lo - 1` arrives).
    var loAmount: Int64
    var loBalanceAfter: Int64
    /// `balanceAfter` of row `hi` (to check `hi + 1`).
    var hiBalanceAfter: Int64
    /// Processing time since which the hole just below `lo` has been missing (if there is one);
    /// `PendingSince.held` while the ledger has delivered nothing since.
    var gapBelowSinceMs: Int64
}

/// Holes a user's state stopped tracking (the lowest ones, once it held `UserState.maxSeqRuns`
/// runs): their seqs count as seen, and an issue open for one of them stays as it was.
struct UntrackedHoles: Sendable, Hashable, Codable {
    /// How many holes were folded away.
    var count: Int64
    /// How many seqs they were missing in all.
    var missingSeqs: Int64
}

/// The tier in effect from `atMs` on.
struct TierPoint: Sendable, Hashable, Codable {
    var atMs: Int64
    var tier: Tier
}

/// A `SUBSCRIPTION_GRANT` row waiting for the settle time.
struct PendingGrant: Sendable, Hashable, Codable {
    var rowId: String
    var seq: Int64
    var amount: Int64
    var createdAtMs: Int64
    var stripeInvoiceId: String?
    var deadlineMs: Int64
}
