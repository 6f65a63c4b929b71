import Shared

// Each `evaluate` derives the issues that should be open from an entity's state and emits the
// difference to what the state records as open (open, update on changed evidence, resolve).

extension IssuePipeline {
    /// Re-evaluates every self-healing user check and decides settled grants. The checks that
    /// depend on the account snapshot alone run only when `accountChanged` (they cannot change
    /// with a ledger row).
    func evaluate(
        _ user: inout UserState.Fields, nowMs: Int64, watermarkMs: Int64, accountChanged: Bool = true,
        out: inout [IssueTransition]
    ) {
        let settle = settings.settleMs
        let userId = user.userId

        // credit_balance_mismatch: must persist for the settle time.
        var balance: BalanceEvidence? = nil
        let credits = user.account?.credits
        let unlimitedCredits = user.account?.unlimitedCredits ?? true
        if let credits, !unlimitedCredits, let top = user.runs.last, credits != top.hiBalanceAfter {
            // Held while accounts or ledger have delivered nothing since the mismatch appeared.
            let since = PendingSince.release(
                user.mismatchSinceMs ?? PendingSince.held(nowMs), waitingOn: HeldCheck.creditBalanceMismatch.inputs,
                clock: inputs)
            user.mismatchSinceMs = since
            if !PendingSince.isHeld(since), addClamped(since, settle) <= nowMs {
                balance = BalanceEvidence(balance: credits, ledgerBalanceAfter: top.hiBalanceAfter, ledgerSeq: top.hi)
            }
        } else {
            user.mismatchSinceMs = nil
        }
        if balance != user.openBalance {
            let shown = balance ?? user.openBalance!
            let (title, repair) = IssueText.creditBalance(balance: shown.balance, ledgerBalance: shown.ledgerBalanceAfter)
            out.append(
                IssueTransition(
                    issueId: CheckKind.creditBalanceMismatch.issueId(userId), check: .creditBalanceMismatch,
                    userId: userId, kind: Self.kind(old: user.openBalance, new: balance), title: title,
                    evidence: shown.json, repair: repair, atMs: nowMs))
            user.openBalance = balance
        }

        // ledger_sequence_gap: one issue per maximal run of missing seqs, after the settle time.
        let startsAtBaseline = user.runs.count == 1 && (user.runs[0].lo == 1 || settings.ledgerBaseline == .firstSeen)
        if !(user.openGaps.isEmpty && (user.runs.isEmpty || startsAtBaseline)) {
            evaluateGaps(&user, nowMs: nowMs, out: &out)
        }

        // Stale paid subscription, in event time.
        var stale: StaleEvidence? = nil
        if let tier = user.account?.tier, tier.isPaid, let since = user.paidSinceMs {
            let anchor = max(since, user.lastInvoiceGrantMs ?? since)
            if watermarkMs > addClamped(anchor, settings.periodMs) {
                stale = StaleEvidence(tier: tier, paidSinceMs: since, lastInvoiceGrantMs: user.lastInvoiceGrantMs)
            }
        }
        if stale != user.openStale {
            let shown = stale ?? user.openStale!
            out.append(
                IssueTransition(
                    issueId: CheckKind.stalePaidSubscription.issueId(userId), check: .stalePaidSubscription,
                    userId: userId, kind: Self.kind(old: user.openStale, new: stale),
                    title: IssueText.staleSubscription(tier: shown.tier, periodDays: settings.periodDays),
                    evidence: shown.json(periodDays: settings.periodDays), repair: nil, atMs: nowMs))
            user.openStale = stale
        }

        if accountChanged {
            evaluateAccount(&user, nowMs: nowMs, out: &out)
            evaluateStripe(&user, nowMs: nowMs, out: &out)
        }
        decideGrants(&user, nowMs: nowMs, out: &out)
    }

    /// The checks of the account snapshot alone.
    private func evaluateAccount(_ user: inout UserState.Fields, nowMs: Int64, out: inout [IssueTransition]) {
        let userId = user.userId
        var paidWithoutCustomer: AccountEvidence? = nil
        var tierMismatch: AccountEvidence? = nil
        var unlimited: AccountEvidence? = nil
        if let account = user.account {
            let status = nonEmpty(account.subscriptionStatus)
            let customer = nonEmpty(account.stripeCustomerId)
            if account.tier.isPaid, customer == nil {
                paidWithoutCustomer = AccountEvidence(tier: account.tier, subscriptionStatus: status)
            }
            if let customer {
                let mismatch =
                    account.tier.isPaid
                    ? (status == nil || status == "canceled" || status == "incomplete_expired")
                    : (status == "active" || status == "trialing")
                if mismatch {
                    tierMismatch = AccountEvidence(tier: account.tier, subscriptionStatus: status, stripeCustomerId: customer)
                }
            }
            if account.unlimitedCredits, account.role == .user { unlimited = AccountEvidence(role: account.role) }
        }
        if paidWithoutCustomer != user.openPaidWithoutCustomer {
            let shown = paidWithoutCustomer ?? user.openPaidWithoutCustomer!
            let (title, repair) = IssueText.paidWithoutCustomer(tier: shown.tier ?? .pro)
            out.append(
                IssueTransition(
                    issueId: CheckKind.paidTierWithoutCustomer.issueId(userId), check: .paidTierWithoutCustomer,
                    userId: userId, kind: Self.kind(old: user.openPaidWithoutCustomer, new: paidWithoutCustomer),
                    title: title,
                    evidence: .object([
                        "tier": .string((shown.tier ?? .pro).rawValue), "stripeCustomerId": .null,
                        "subscriptionStatus": .optional(shown.subscriptionStatus),
                    ]), repair: repair, atMs: nowMs))
            user.openPaidWithoutCustomer = paidWithoutCustomer
        }
        if tierMismatch != user.openTierMismatch {
            let shown = tierMismatch ?? user.openTierMismatch!
            out.append(
                IssueTransition(
                    issueId: CheckKind.tierSubscriptionMismatch.issueId(userId), check: .tierSubscriptionMismatch,
                    userId: userId, kind: Self.kind(old: user.openTierMismatch, new: tierMismatch),
                    title: IssueText.tierMismatch(tier: shown.tier ?? .free, subscriptionStatus: shown.subscriptionStatus),
                    evidence: .object([
                        "tier": .string((shown.tier ?? .free).rawValue),
                        "subscriptionStatus": .optional(shown.subscriptionStatus),
                        "stripeCustomerId": .optional(shown.stripeCustomerId),
                    ]), repair: nil, atMs: nowMs))
            user.openTierMismatch = tierMismatch
        }
        if unlimited != user.openUnlimited {
            let shown = unlimited ?? user.openUnlimited!
            let (title, repair) = IssueText.unlimitedCredits(role: shown.role ?? .user)
            out.append(
                IssueTransition(
                    issueId: CheckKind.nonAdminUnlimitedCredits.issueId(userId), check: .nonAdminUnlimitedCredits,
                    userId: userId, kind: Self.kind(old: user.openUnlimited, new: unlimited), title: title,
                    evidence: .object(["role": .string((shown.role ?? .user).rawValue), "unlimitedCredits": .bool(true)]),
                    repair: repair, atMs: nowMs))
            user.openUnlimited = unlimited
        }
    }

    /// free_user_subscription_grant: decided once per grant row, after the settle time and once
    /// at least one snapshot of the user is known.
    private func decideGrants(_ user: inout UserState.Fields, nowMs: Int64, out: inout [IssueTransition]) {
        let settle = settings.settleMs
        let userId = user.userId
        if !user.pendingGrants.isEmpty, !user.tierPoints.isEmpty,
            user.pendingGrants.contains(where: { $0.deadlineMs <= nowMs })
        {
            var kept: [PendingGrant] = []
            for grant in user.pendingGrants {
                guard grant.deadlineMs <= nowMs else {
                    kept.append(grant)
                    continue
                }
                guard user.tier(atMs: addClamped(grant.createdAtMs, settle)) == .free else { continue }
                out.append(
                    IssueTransition(
                        issueId: CheckKind.freeUserSubscriptionGrant.issueId(grant.rowId),
                        check: .freeUserSubscriptionGrant, userId: userId, kind: .open,
                        title: IssueText.freeSubscriptionGrant(rowId: grant.rowId, amount: grant.amount),
                        evidence: .object([
                            "ledgerRowId": .string(grant.rowId), "seq": .int(grant.seq), "amount": .int(grant.amount),
                            "createdAt": .string(Timestamp.format(grant.createdAtMs)),
                            "stripeInvoiceId": .optional(grant.stripeInvoiceId), "tierInEffect": "FREE",
                        ]), repair: nil, atMs: nowMs))
            }
            user.pendingGrants = kept
        }
    }

    private func evaluateGaps(_ user: inout UserState.Fields, nowMs: Int64, out: inout [IssueTransition]) {
        let settle = settings.settleMs
        let userId = user.userId
        // A hole is held while the ledger has delivered nothing since it appeared.
        for index in user.runs.indices where PendingSince.isHeld(user.runs[index].gapBelowSinceMs) {
            user.runs[index].gapBelowSinceMs = PendingSince.release(
                user.runs[index].gapBelowSinceMs, waitingOn: HeldCheck.ledgerSequenceGap.inputs, clock: inputs)
        }
        var desired = user.holes(baseline: settings.ledgerBaseline).filter {
            !PendingSince.isHeld($0.sinceMs) && addClamped($0.sinceMs, settle) <= nowMs
        }.map(\.gap)
        // Held holes neither open nor resolve: an open one stays as it was.
        let held = user.holes(baseline: settings.ledgerBaseline).filter { PendingSince.isHeld($0.sinceMs) }.map(\.gap)
        if !held.isEmpty {
            let keep = user.openGaps.filter { gap in held.contains { $0.first == gap.first } }
            if !keep.isEmpty { desired = (desired + keep).sorted { $0.first < $1.first } }
        }
        guard desired != user.openGaps else { return }
        var i = 0
        var j = 0
        let open = user.openGaps
        func emit(_ gap: GapEvidence, _ kind: IssueTransition.Kind) {
            out.append(
                IssueTransition(
                    issueId: CheckKind.ledgerSequenceGap.issueId(userId, String(gap.first)), check: .ledgerSequenceGap,
                    userId: userId, kind: kind, title: IssueText.ledgerGap(first: gap.first, last: gap.last),
                    evidence: gap.json(untracked: user.untracked), repair: nil, atMs: nowMs))
        }
        while i < open.count || j < desired.count {
            if j == desired.count || (i < open.count && open[i].first < desired[j].first) {
                emit(open[i], .resolve)
                i += 1
            } else if i == open.count || desired[j].first < open[i].first {
                emit(desired[j], .open)
                j += 1
            } else {
                if open[i] != desired[j] { emit(desired[j], .update) }
                i += 1
                j += 1
            }
        }
        user.openGaps = desired
    }

    /// Re-evaluates the missing-webhook and duplicate-event checks of one Stripe event id.
    func evaluate(_ event: inout StripeEventState, eventId: String, nowMs: Int64, out: inout [IssueTransition]) {
        var missing: GroupEvidence? = nil
        if !event.webhookSeen, event.carriers.count > 0 {
            // Held while the webhooks input has delivered nothing since the first carrier row.
            let since = PendingSince.release(
                event.missingSinceMs ?? PendingSince.held(nowMs), waitingOn: HeldCheck.missingIdempotencyRecord.inputs,
                clock: inputs)
            event.missingSinceMs = since
            if PendingSince.isHeld(since) {
                missing = event.openMissing
            } else if addClamped(since, settings.settleMs) <= nowMs {
                missing = event.carriers.evidence
            }
        } else {
            event.missingSinceMs = nil
        }
        if missing != event.openMissing {
            let shown = missing ?? event.openMissing!
            let (title, repair) = IssueText.webhookMissing(eventId: eventId)
            out.append(
                IssueTransition(
                    issueId: CheckKind.missingIdempotencyRecord.issueId(eventId), check: .missingIdempotencyRecord,
                    userId: shown.userId, kind: Self.kind(old: event.openMissing, new: missing), title: title,
                    evidence: shown.json(idField: "stripeEventId", id: eventId), repair: repair, atMs: nowMs))
            event.openMissing = missing
        }
        let duplicate = event.credits.count >= 2 ? event.credits.duplicateEvidence : nil
        if duplicate != event.openDuplicate {
            let shown = duplicate ?? event.openDuplicate!
            out.append(
                IssueTransition(
                    issueId: CheckKind.duplicateCreditEvent.issueId(eventId), check: .duplicateCreditEvent,
                    userId: shown.userId, kind: Self.kind(old: event.openDuplicate, new: duplicate),
                    title: IssueText.duplicateEvent(eventId: eventId, rowCount: shown.rowCount),
                    evidence: shown.json(idField: "stripeEventId", id: eventId), repair: nil, atMs: nowMs,
                    duplicateExcess: shown.excess))
            event.openDuplicate = duplicate
        }
    }

    /// Re-evaluates a duplicate payment intent or invoice grant.
    func evaluate(_ group: inout CarrierGroupState, key: StateKey, nowMs: Int64, out: inout [IssueTransition]) {
        let duplicate = group.rows.count >= 2 ? group.rows.duplicateEvidence : nil
        guard duplicate != group.openDuplicate else { return }
        let shown = duplicate ?? group.openDuplicate!
        let check: CheckKind
        let title: String
        let evidence: JSONValue
        switch key {
        case .invoice(let id):
            check = .duplicateInvoiceGrant
            title = IssueText.duplicateInvoiceGrant(invoiceId: id, rowCount: shown.rowCount)
            evidence = shown.json(idField: "stripeInvoiceId", id: id)
        default:
            check = .duplicatePaymentIntent
            title = IssueText.duplicatePaymentIntent(paymentIntentId: key.id, rowCount: shown.rowCount)
            evidence = shown.json(idField: "stripePaymentIntentId", id: key.id)
        }
        out.append(
            IssueTransition(
                issueId: check.issueId(key.id), check: check, userId: shown.userId,
                kind: Self.kind(old: group.openDuplicate, new: duplicate), title: title, evidence: evidence, repair: nil,
                atMs: nowMs, duplicateExcess: shown.excess))
        group.openDuplicate = duplicate
    }

    /// Re-evaluates one plan gate against the policy.
    func evaluate(_ gate: inout PlanGateState, feature: String, nowMs: Int64, out: inout [IssueTransition]) {
        var regression: GateEvidence? = nil
        if let level = settings.planPolicy.features[feature], Set(gate.allowedTiers) != level.allowedTiers {
            regression = GateEvidence(
                allowed: gate.allowedTiers, expected: IssueText.sortedTiers(level.allowedTiers), level: level)
        }
        guard regression != gate.open else { return }
        let shown = regression ?? gate.open!
        out.append(
            IssueTransition(
                issueId: CheckKind.planGateRegression.issueId(feature), check: .planGateRegression, userId: nil,
                kind: Self.kind(old: gate.open, new: regression),
                title: IssueText.planGate(feature: feature, allowed: shown.allowed, expected: shown.expected),
                evidence: shown.json(feature: feature), repair: nil, atMs: nowMs))
        gate.open = regression
    }

    // MARK: - Row issues

    func emitArithmetic(
        userId: String, seq: Int64, previous: Int64, amount: Int64, balanceAfter: Int64, nowMs: Int64,
        out: inout [IssueTransition]
    ) {
        out.append(
            IssueTransition(
                issueId: CheckKind.ledgerArithmeticBreak.issueId(userId, String(seq)), check: .ledgerArithmeticBreak,
                userId: userId, kind: .open,
                title: IssueText.ledgerArithmetic(seq: seq, previous: previous, amount: amount, balanceAfter: balanceAfter),
                evidence: .object([
                    "seq": .int(seq), "previousBalanceAfter": .int(previous), "amount": .int(amount),
                    "balanceAfter": .int(balanceAfter), "expectedBalanceAfter": .int(previous &+ amount),
                ]), repair: nil, atMs: nowMs))
    }

    func emitRowIssues(_ row: LedgerRow, nowMs: Int64, out: inout [IssueTransition]) {
        if row.type == .purchase, nonEmpty(row.stripePaymentIntentId) == nil {
            out.append(
                IssueTransition(
                    issueId: CheckKind.purchaseWithoutPaymentIntent.issueId(row.id), check: .purchaseWithoutPaymentIntent,
                    userId: row.userId, kind: .open,
                    title: IssueText.purchaseWithoutPaymentIntent(rowId: row.id, amount: row.amount),
                    evidence: Self.rowEvidence(row), repair: nil, atMs: nowMs))
        }
        if row.type == .subscriptionGrant, nonEmpty(row.stripeInvoiceId) == nil {
            out.append(
                IssueTransition(
                    issueId: CheckKind.subscriptionGrantWithoutInvoice.issueId(row.id),
                    check: .subscriptionGrantWithoutInvoice, userId: row.userId, kind: .open,
                    title: IssueText.grantWithoutInvoice(rowId: row.id, amount: row.amount),
                    evidence: Self.rowEvidence(row), repair: nil, atMs: nowMs))
        }
        if row.amount.magnitude >= settings.largeMovement.magnitude {
            var evidence = Self.rowEvidence(row)
            if case .object(var fields) = evidence {
                fields["threshold"] = .int(settings.largeMovement)
                evidence = .object(fields)
            }
            out.append(
                IssueTransition(
                    issueId: CheckKind.largeCreditMovement.issueId(row.id), check: .largeCreditMovement,
                    userId: row.userId, kind: .open, title: IssueText.largeMovement(rowId: row.id, amount: row.amount),
                    evidence: evidence, repair: nil, atMs: nowMs))
        }
    }

    static func rowEvidence(_ row: LedgerRow) -> JSONValue {
        .object([
            "ledgerRowId": .string(row.id), "seq": .int(row.seq), "type": .string(row.type.rawValue),
            "amount": .int(row.amount), "createdAt": .string(Timestamp.format(row.createdAtMs)),
            "stripeEventId": .optional(nonEmpty(row.stripeEventId)),
        ])
    }

    static func kind<E>(old: E?, new: E?) -> IssueTransition.Kind {
        old == nil ? .open : (new == nil ? .resolve : .update)
    }
}
