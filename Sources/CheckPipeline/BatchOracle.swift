import Shared

/// A from-scratch evaluation of the contract's rules over whole tables: all rows in, the set of
/// open issues out. Written independently of the incremental pipeline (it shares only titles and
/// repair texts) so the two can check each other, and used by the worker's `audit` command.
///
/// The inputs are in arrival order; where the contract lets order matter it is used the same way
/// as the pipeline: a ledger row whose id or `(userId, seq)` was seen earlier in the list is
/// ignored (first delivery wins), rows with `seq < 1` are ignored, an account snapshot whose
/// version is not above the highest applied so far is ignored, the latest applied snapshot is
/// the user's account, and a gate older than the applied one for its feature is ignored.
/// Settle times are taken as passed (the incremental result after `tick` at `Int64.max` equals
/// this); the stale-subscription check uses `watermarkMs`. `bootstrapUpdatedAtMs` (user id →
/// `users.updated_at`) marks users whose rows were applied by bootstrap, for the grant exception.
public enum BatchOracle {
    public static func evaluate(
        ledger: [LedgerRow], accounts: [AccountSnapshot], webhooks: [WebhookRecord], gates: [PlanGate],
        stripe: [StripeEvent] = [], watermarkMs: Int64, settings: CheckSettings,
        bootstrapUpdatedAtMs: [String: Int64] = [:]
    ) -> [OpenIssue] {
        var issues: [OpenIssue] = []
        func some(_ s: String?) -> String? { (s?.isEmpty ?? true) ? nil : s }

        // Ledger rows that count, per user, by seq.
        var seenIds = Set<String>()
        var rowsByUser: [String: [Int64: LedgerRow]] = [:]
        var coverage: [String: SeqCoverage] = [:]
        var acceptedRows: [LedgerRow] = []
        for row in ledger where row.seq >= 1 && !seenIds.contains(row.id) {
            seenIds.insert(row.id)
            // A seq seen before, or inside a hole no longer tracked, is ignored.
            if coverage[row.userId]?.covers(row.seq) == true { continue }
            coverage[row.userId, default: SeqCoverage()].add(row.seq)
            rowsByUser[row.userId, default: [:]][row.seq] = row
            acceptedRows.append(row)
        }

        // Account snapshots: applied ones per user, in order.
        var appliedByUser: [String: [AccountSnapshot]] = [:]
        var highestVersion: [String: Int64] = [:]
        for snapshot in accounts {
            if let version = snapshot.version {
                if let highest = highestVersion[snapshot.userId], version <= highest { continue }
                highestVersion[snapshot.userId] = version
            }
            appliedByUser[snapshot.userId, default: []].append(snapshot)
        }

        // Per user: ledger sequence, arithmetic, balance, account checks, stale, free grants.
        for userId in Set(rowsByUser.keys).union(appliedByUser.keys) {
            let rows = rowsByUser[userId] ?? [:]
            let seqs = rows.keys.sorted()
            let applied = appliedByUser[userId] ?? []
            let account = applied.last

            // Gaps: missing runs in 1 ..< highest (from the lowest seq seen under `first-seen`).
            let seen = coverage[userId] ?? SeqCoverage()
            for hole in seen.holes(baseline: settings.ledgerBaseline) {
                issues.append(
                    OpenIssue(
                        issueId: "ledger-gap:\(userId):\(hole.lowerBound)", check: .ledgerSequenceGap, userId: userId,
                        title: IssueText.ledgerGap(first: hole.lowerBound, last: hole.upperBound),
                        evidence: .object(seen.evidence(hole)), repair: nil))
            }

            // Arithmetic of consecutive rows.
            for seq in seqs {
                guard seq > 1, let row = rows[seq], let previous = rows[seq - 1] else { continue }
                // An AUDIT row records a correction of `users.credits` (a repair's delta), not a ledger movement.
                let movement = row.type == .audit ? 0 : row.amount
                let expectedBalance = previous.balanceAfter &+ movement
                if row.balanceAfter != expectedBalance {
                    issues.append(
                        OpenIssue(
                            issueId: "ledger-arithmetic:\(userId):\(seq)", check: .ledgerArithmeticBreak,
                            userId: userId,
                            title: IssueText.ledgerArithmetic(
                                seq: seq, previous: previous.balanceAfter, amount: movement,
                                balanceAfter: row.balanceAfter),
                            evidence: [
                                "seq": .int(seq), "previousBalanceAfter": .int(previous.balanceAfter),
                                "amount": .int(movement), "balanceAfter": .int(row.balanceAfter),
                                "expectedBalanceAfter": .int(expectedBalance),
                            ], repair: nil))
                }
            }

            guard let account else { continue }

            // Balance against the highest-seq row.
            if !account.unlimitedCredits, let highest = seqs.last, let top = rows[highest],
                top.balanceAfter != account.credits
            {
                let (title, repair) = IssueText.creditBalance(balance: account.credits, ledgerBalance: top.balanceAfter)
                issues.append(
                    OpenIssue(
                        issueId: "credit-balance:\(userId)", check: .creditBalanceMismatch, userId: userId, title: title,
                        evidence: [
                            "balance": .int(account.credits), "ledgerBalanceAfter": .int(top.balanceAfter),
                            "ledgerSeq": .int(highest),
                        ], repair: repair))
            }

            let customer = some(account.stripeCustomerId)
            let status = some(account.subscriptionStatus)
            let paid = account.tier == .pro || account.tier == .team
            if paid && customer == nil {
                let (title, repair) = IssueText.paidWithoutCustomer(tier: account.tier)
                issues.append(
                    OpenIssue(
                        issueId: "paid-without-customer:\(userId)", check: .paidTierWithoutCustomer, userId: userId,
                        title: title,
                        evidence: [
                            "tier": .string(account.tier.rawValue), "stripeCustomerId": nil,
                            "subscriptionStatus": status.map(JSONValue.string) ?? nil,
                        ], repair: repair))
            }
            if customer != nil {
                let mismatch =
                    paid
                    ? [nil, "canceled", "incomplete_expired"].contains(status)
                    : ["active", "trialing"].contains(status)
                if mismatch {
                    issues.append(
                        OpenIssue(
                            issueId: "tier-mismatch:\(userId)", check: .tierSubscriptionMismatch, userId: userId,
                            title: IssueText.tierMismatch(tier: account.tier, subscriptionStatus: status),
                            evidence: [
                                "tier": .string(account.tier.rawValue),
                                "subscriptionStatus": status.map(JSONValue.string) ?? nil,
                                "stripeCustomerId": customer.map(JSONValue.string) ?? nil,
                            ], repair: nil))
                }
            }
            if account.unlimitedCredits && account.role == .user {
                let (title, repair) = IssueText.unlimitedCredits(role: account.role)
                issues.append(
                    OpenIssue(
                        issueId: "unlimited-credits:\(userId)", check: .nonAdminUnlimitedCredits, userId: userId,
                        title: title, evidence: ["role": "USER", "unlimitedCredits": true], repair: repair))
            }

            // Stale paid subscription, in event time.
            if paid {
                let lastFree = applied.lastIndex { $0.tier == .free } ?? -1
                let streakStart = applied[(lastFree + 1)...].map(\.updatedAtMs).min()!
                let invoiceGrants = rows.values.filter { $0.type == .subscriptionGrant && some($0.stripeInvoiceId) != nil }
                let lastGrant = invoiceGrants.map(\.createdAtMs).max()
                let anchor = max(streakStart, lastGrant ?? Int64.min)
                let (limit, overflow) = anchor.addingReportingOverflow(settings.periodMs)
                if !overflow && watermarkMs - 1 >= limit {
                    issues.append(
                        OpenIssue(
                            issueId: "stale-subscription:\(userId)", check: .stalePaidSubscription, userId: userId,
                            title: IssueText.staleSubscription(tier: account.tier, periodDays: settings.periodDays),
                            evidence: [
                                "tier": .string(account.tier.rawValue),
                                "paidSince": .string(Timestamp.format(streakStart)),
                                "lastInvoiceGrantAt": lastGrant.map { .string(Timestamp.format($0)) } ?? nil,
                                "periodDays": .int(settings.periodDays),
                            ], repair: nil))
                }
            }

            // Subscription grants to users on FREE at the grant's time (+ settle).
            for seq in seqs {
                guard let row = rows[seq], row.type == .subscriptionGrant else { continue }
                // Bootstrap: a grant older than the user's `users.updated_at` minus the settle time
                // is not judged (the tier in force then is unknown).
                if let updatedAt = bootstrapUpdatedAtMs[userId], row.createdAtMs < updatedAt - settings.settleMs {
                    continue
                }
                let limit = row.createdAtMs.addingReportingOverflow(settings.settleMs)
                let cutoff = limit.overflow ? Int64.max : limit.partialValue
                // The latest snapshot at or before the cutoff (the later-applied one on ties),
                // else the earliest (the first-applied one on ties).
                var inEffect: AccountSnapshot? = nil
                for snapshot in applied where snapshot.updatedAtMs <= cutoff {
                    if inEffect == nil || snapshot.updatedAtMs >= inEffect!.updatedAtMs { inEffect = snapshot }
                }
                if inEffect == nil {
                    for snapshot in applied where inEffect == nil || snapshot.updatedAtMs < inEffect!.updatedAtMs {
                        inEffect = snapshot
                    }
                }
                guard inEffect?.tier == .free else { continue }
                issues.append(
                    OpenIssue(
                        issueId: "free-subscription-grant:\(row.id)", check: .freeUserSubscriptionGrant, userId: userId,
                        title: IssueText.freeSubscriptionGrant(rowId: row.id, amount: row.amount),
                        evidence: [
                            "ledgerRowId": .string(row.id), "seq": .int(row.seq), "amount": .int(row.amount),
                            "createdAt": .string(Timestamp.format(row.createdAtMs)),
                            "stripeInvoiceId": some(row.stripeInvoiceId).map(JSONValue.string) ?? nil,
                            "tierInEffect": "FREE",
                        ], repair: nil))
            }
        }

        // Row issues.
        for row in acceptedRows {
            let evidence: [String: JSONValue] = [
                "ledgerRowId": .string(row.id), "seq": .int(row.seq), "type": .string(row.type.rawValue),
                "amount": .int(row.amount), "createdAt": .string(Timestamp.format(row.createdAtMs)),
                "stripeEventId": some(row.stripeEventId).map(JSONValue.string) ?? nil,
            ]
            if row.type == .purchase && some(row.stripePaymentIntentId) == nil {
                issues.append(
                    OpenIssue(
                        issueId: "purchase-without-payment-intent:\(row.id)", check: .purchaseWithoutPaymentIntent,
                        userId: row.userId, title: IssueText.purchaseWithoutPaymentIntent(rowId: row.id, amount: row.amount),
                        evidence: .object(evidence), repair: nil))
            }
            if row.type == .subscriptionGrant && some(row.stripeInvoiceId) == nil {
                issues.append(
                    OpenIssue(
                        issueId: "grant-without-invoice:\(row.id)", check: .subscriptionGrantWithoutInvoice,
                        userId: row.userId, title: IssueText.grantWithoutInvoice(rowId: row.id, amount: row.amount),
                        evidence: .object(evidence), repair: nil))
            }
            let threshold = settings.largeMovement
            let large =
                row.amount == Int64.min || threshold == Int64.min
                ? row.amount.magnitude >= threshold.magnitude : abs(row.amount) >= abs(threshold)
            if large {
                var fields = evidence
                fields["threshold"] = .int(threshold)
                issues.append(
                    OpenIssue(
                        issueId: "large-credit-movement:\(row.id)", check: .largeCreditMovement, userId: row.userId,
                        title: IssueText.largeMovement(rowId: row.id, amount: row.amount), evidence: .object(fields),
                        repair: nil))
            }
        }

        // Cross-user groups.
        func group(
            _ rows: [LedgerRow], prefix: String, check: CheckKind, idField: String, id: String,
            title: (Int) -> String, repair: RepairSuggestion?
        ) -> OpenIssue {
            let ids = rows.map(\.id).sorted()
            // Amount at risk: every row's amount but the earliest's (by createdAt, then id).
            let earliest = rows.min { ($0.createdAtMs, $0.id) < ($1.createdAtMs, $1.id) }
            var excess: Int64 = 0
            for row in rows where row.id != earliest?.id {
                let (sum, overflow) = excess.addingReportingOverflow(row.amount)
                excess = overflow ? (row.amount > 0 ? .max : .min) : sum
            }
            return OpenIssue(
                issueId: "\(prefix):\(id)", check: check, userId: rows.map(\.userId).min(), title: title(ids.count),
                evidence: [
                    idField: .string(id),
                    "ledgerRowIds": .array(ids.prefix(IssueText.maxListedRowIds).map(JSONValue.string)),
                    "rowCount": .int(Int64(ids.count)),
                ], repair: repair, duplicateExcess: check == .missingIdempotencyRecord ? nil : excess)
        }
        let webhookIds = Set(webhooks.map(\.eventId))
        var byEvent: [String: [LedgerRow]] = [:]
        var byIntent: [String: [LedgerRow]] = [:]
        var byInvoice: [String: [LedgerRow]] = [:]
        for row in acceptedRows {
            if let event = some(row.stripeEventId) { byEvent[event, default: []].append(row) }
            if row.type == .purchase, row.amount > 0, let intent = some(row.stripePaymentIntentId) {
                byIntent[intent, default: []].append(row)
            }
            if row.type == .subscriptionGrant, row.amount > 0, let invoice = some(row.stripeInvoiceId) {
                byInvoice[invoice, default: []].append(row)
            }
        }
        for (event, rows) in byEvent {
            if !webhookIds.contains(event) {
                let (title, repair) = IssueText.webhookMissing(eventId: event)
                issues.append(
                    group(
                        rows, prefix: "webhook-missing", check: .missingIdempotencyRecord, idField: "stripeEventId",
                        id: event, title: { _ in title }, repair: repair))
            }
            let credits = rows.filter { $0.amount > 0 }
            if Set(credits.map(\.id)).count >= 2 {
                issues.append(
                    group(
                        credits, prefix: "duplicate-event", check: .duplicateCreditEvent, idField: "stripeEventId",
                        id: event, title: { IssueText.duplicateEvent(eventId: event, rowCount: $0) }, repair: nil))
            }
        }
        for (intent, rows) in byIntent where rows.count >= 2 {
            issues.append(
                group(
                    rows, prefix: "duplicate-payment-intent", check: .duplicatePaymentIntent,
                    idField: "stripePaymentIntentId", id: intent,
                    title: { IssueText.duplicatePaymentIntent(paymentIntentId: intent, rowCount: $0) }, repair: nil))
        }
        for (invoice, rows) in byInvoice where rows.count >= 2 {
            issues.append(
                group(
                    rows, prefix: "duplicate-invoice-grant", check: .duplicateInvoiceGrant, idField: "stripeInvoiceId",
                    id: invoice, title: { IssueText.duplicateInvoiceGrant(invoiceId: invoice, rowCount: $0) },
                    repair: nil))
        }

        // Plan gates: the latest per feature against the policy.
        var latestGate: [String: PlanGate] = [:]
        for gate in gates where gate.updatedAtMs >= (latestGate[gate.feature]?.updatedAtMs ?? Int64.min) {
            latestGate[gate.feature] = gate
        }
        for (feature, gate) in latestGate {
            guard let level = settings.planPolicy.features[feature] else { continue }
            let expected = level.allowedTiers
            guard gate.allowedTiers != expected else { continue }
            let order: [Tier] = [.free, .pro, .team]
            let allowedList = order.filter { gate.allowedTiers.contains($0) }
            let expectedList = order.filter { expected.contains($0) }
            issues.append(
                OpenIssue(
                    issueId: "plan-gate:\(feature)", check: .planGateRegression, userId: nil,
                    title: IssueText.planGate(feature: feature, allowed: allowedList, expected: expectedList),
                    evidence: [
                        "feature": .string(feature), "allowedTiers": .array(allowedList.map { .string($0.rawValue) }),
                        "expectedTiers": .array(expectedList.map { .string($0.rawValue) }),
                        "policy": .string(level.rawValue),
                    ], repair: nil))
        }

        issues += stripeIssues(
            accounts: appliedByUser.compactMapValues(\.last),
            grants: acceptedRows.filter { $0.type == .subscriptionGrant }, stripe: stripe)
        return issues.sorted()
    }
}
