import Shared

/// The checks of the contract as incremental logic over keyed entity states.
///
/// - Important: Records and ticks may touch only the keys `stateKeys(for:)` and
///   `dependentKeys(for:store:)` name (ticks: the keys passed). Ledger rows are identified by `(userId, seq)`: a row whose seq is already taken
///   for its user is ignored entirely, whether it is a redelivery (same id) or another row at
///   the same seq (first delivery wins; the disposition tells which it was not). The batch oracle
///   de-duplicates the same way. Rows with `seq < 1` are ignored.
///
/// Time: `nowMs` is processing time (settle deadlines), `watermarkMs` the global event-time
/// watermark (newest timestamp seen on any input, including the record being applied).
public struct IssuePipeline: Sendable {
    public var settings: CheckSettings
    /// When each input last delivered: checks waiting on a silent input are held (see `InputClock`).
    public var inputs: InputClock

    public init(settings: CheckSettings = CheckSettings(), inputs: InputClock = .untracked) {
        self.settings = settings
        self.inputs = inputs
    }

    /// The keys a record names; with `dependentKeys(for:store:)` (the keys its states name: the users
    /// of a Stripe customer, …) complete: `apply` touches no other key.
    public static func stateKeys(for record: BillingRecord) -> [StateKey] {
        switch record {
        case .ledger(let row):
            var keys: [StateKey] = [.user(row.userId)]
            if let eventId = nonEmpty(row.stripeEventId) { keys.append(.stripeEvent(eventId)) }
            if let intent = paymentIntentKey(row) { keys.append(.paymentIntent(intent)) }
            if let invoice = invoiceKey(row) { keys.append(.invoice(invoice)) }
            return keys
        case .account(let snapshot):
            if let customer = nonEmpty(snapshot.stripeCustomerId) {
                return [.user(snapshot.userId), .stripeCustomer(customer)]
            }
            return [.user(snapshot.userId)]
        case .webhook(let record): return [.stripeEvent(record.eventId)]
        case .planGate(let gate): return [.planGate(gate.feature)]
        case .stripe(let event): return stripeStateKeys(event)
        }
    }

    /// Applies one record and returns the issue changes it causes.
    public func apply(
        _ record: BillingRecord, nowMs: Int64, watermarkMs: Int64, store: some StateStore
    ) -> [IssueChange] {
        var out: [IssueChange] = []
        apply(record, nowMs: nowMs, watermarkMs: watermarkMs, store: store, into: &out)
        return out
    }

    /// Applies one record, appending its issue changes to `out` (the allocation-light form).
    ///
    /// `judgeGrantTier: false` leaves a `SUBSCRIPTION_GRANT` row out of `free_user_subscription_grant`
    /// (bootstrap: a grant older than the user's `users.updated_at` minus the settle time, whose tier
    /// in force is unknown because the table keeps only today's tier).
    @discardableResult
    public func apply(
        _ record: BillingRecord, nowMs: Int64, watermarkMs: Int64, store: some StateStore,
        into out: inout [IssueChange], judgeGrantTier: Bool = true
    ) -> RecordDisposition {
        switch record {
        case .ledger(let row):
            applyLedger(
                row, nowMs: nowMs, watermarkMs: watermarkMs, store: store, judgeGrantTier: judgeGrantTier, out: &out)
        case .account(let snapshot):
            applyAccount(snapshot, nowMs: nowMs, watermarkMs: watermarkMs, store: store, out: &out)
        case .webhook(let record): applyWebhook(record, nowMs: nowMs, store: store, out: &out)
        case .planGate(let gate): applyGate(gate, nowMs: nowMs, store: store, out: &out)
        case .stripe(let event): applyStripe(event, nowMs: nowMs, store: store, out: &out)
        }
    }

    /// Re-evaluates the given keys at `nowMs` / `watermarkMs`: opens what has settled, flips
    /// stale subscriptions, re-checks gates against the current policy. Pass `Int64.max` as
    /// `nowMs` to settle everything pending.
    public func tick(
        keys: some Sequence<StateKey>, nowMs: Int64, watermarkMs: Int64, store: some StateStore
    ) -> [IssueChange] {
        var out: [IssueChange] = []
        for key in keys {
            store.mutate(key) { slot in
                guard let before = slot else { return false }
                var state = before
                switch (key, state) {
                case (.user, .user(var user)):
                    evaluate(&user.fields, nowMs: nowMs, watermarkMs: watermarkMs, out: &out)
                    state = .user(user)
                case (.stripeEvent(let id), .stripeEvent(var event)):
                    evaluate(&event, eventId: id, nowMs: nowMs, out: &out)
                    state = .stripeEvent(event)
                case (.paymentIntent(let id), .carrierGroup(var group)):
                    evaluate(&group, key: .paymentIntent(id), nowMs: nowMs, out: &out)
                    state = .carrierGroup(group)
                case (.invoice(let id), .carrierGroup(var group)):
                    evaluate(&group, key: .invoice(id), nowMs: nowMs, out: &out)
                    state = .carrierGroup(group)
                case (.planGate(let feature), .planGate(var gate)):
                    evaluate(&gate, feature: feature, nowMs: nowMs, out: &out)
                    state = .planGate(gate)
                case (.stripeCustomer(let id), .stripeCustomer(var customer)):
                    evaluate(&customer, customerId: id, nowMs: nowMs, out: &out)
                    state = .stripeCustomer(customer)
                default:
                    return false
                }
                if state == before { return false }
                slot = state
                return true
            }
        }
        return out
    }

    // MARK: - Records

    private func applyLedger(
        _ row: LedgerRow, nowMs: Int64, watermarkMs: Int64, store: some StateStore, judgeGrantTier: Bool,
        out: inout [IssueChange]
    ) -> RecordDisposition {
        guard row.seq >= 1 else { return .invalidSeq }
        var accepted = false
        withUser(row.userId, store) { user in
            guard case .accepted(let previous, let next) = user.insert(row, nowMs: nowMs, baseline: settings.ledgerBaseline) else { return false }
            accepted = true
            if let previous, row.balanceAfter != previous &+ row.ledgerMovement {
                emitArithmetic(
                    userId: row.userId, seq: row.seq, previous: previous, amount: row.ledgerMovement,
                    balanceAfter: row.balanceAfter, nowMs: nowMs, out: &out)
            }
            if let next, next.balanceAfter != row.balanceAfter &+ next.amount {
                emitArithmetic(
                    userId: row.userId, seq: row.seq + 1, previous: row.balanceAfter, amount: next.amount,
                    balanceAfter: next.balanceAfter, nowMs: nowMs, out: &out)
            }
            emitRowIssues(row, nowMs: nowMs, out: &out)
            if row.type == .subscriptionGrant {
                let invoice = nonEmpty(row.stripeInvoiceId)
                if invoice != nil { user.lastInvoiceGrantMs = max(user.lastInvoiceGrantMs ?? row.createdAtMs, row.createdAtMs) }
                if judgeGrantTier {
                    user.pendingGrants.append(
                    PendingGrant(
                        rowId: row.id, seq: row.seq, amount: row.amount, createdAtMs: row.createdAtMs,
                        stripeInvoiceId: invoice, deadlineMs: addClamped(nowMs, settings.settleMs)))
                }
            }
            evaluate(&user, nowMs: nowMs, watermarkMs: watermarkMs, accountChanged: false, out: &out)
            return true
        }
        guard accepted else { return .duplicateRow }

        if let eventId = nonEmpty(row.stripeEventId) {
            store.mutate(.stripeEvent(eventId)) { slot in
                var event = slot?.stripeEventState ?? StripeEventState()
                var changed = event.carriers.add(
                    rowId: row.id, userId: row.userId, amount: row.amount, createdAtMs: row.createdAtMs)
                if row.amount > 0 {
                    changed =
                        event.credits.add(rowId: row.id, userId: row.userId, amount: row.amount, createdAtMs: row.createdAtMs)
                        || changed
                }
                guard changed else { return false }
                evaluate(&event, eventId: eventId, nowMs: nowMs, out: &out)
                slot = .stripeEvent(event)
                return true
            }
        }
        if let intent = Self.paymentIntentKey(row) {
            addCarrier(row, key: .paymentIntent(intent), nowMs: nowMs, store: store, out: &out)
        }
        if let invoice = Self.invoiceKey(row) {
            applyInvoiceGrant(row, invoice: invoice, nowMs: nowMs, store: store, out: &out)
        }
        return .applied
    }

    private func addCarrier(
        _ row: LedgerRow, key: StateKey, nowMs: Int64, store: some StateStore, out: inout [IssueChange]
    ) {
        store.mutate(key) { slot in
            var group = slot?.carrierGroupState ?? CarrierGroupState()
            guard group.rows.add(rowId: row.id, userId: row.userId, amount: row.amount, createdAtMs: row.createdAtMs)
            else { return false }
            evaluate(&group, key: key, nowMs: nowMs, out: &out)
            slot = .carrierGroup(group)
            return true
        }
    }

    private func applyAccount(
        _ snapshot: AccountSnapshot, nowMs: Int64, watermarkMs: Int64, store: some StateStore,
        out: inout [IssueChange]
    ) -> RecordDisposition {
        let customer = nonEmpty(snapshot.stripeCustomerId)
        // The named customer's subscriptions, read before the user is lent out.
        let subscriptions = customer.map { store.get(.stripeCustomer($0))?.stripeCustomerState?.subscriptionViews ?? [] }
        var applied = false
        var previousCustomer: String? = nil
        withUser(snapshot.userId, store) { user in
            if let version = snapshot.version, let applied = user.maxVersion, version <= applied { return false }
            applied = true
            previousCustomer = nonEmpty(user.account?.stripeCustomerId)
            user.account = snapshot
            user.stripeView = customer.map { StripeView(customerId: $0, subscriptions: subscriptions ?? []) }
            if let version = snapshot.version { user.maxVersion = max(user.maxVersion ?? version, version) }
            user.addTierPoint(atMs: snapshot.updatedAtMs, tier: snapshot.tier)
            user.paidSinceMs =
                snapshot.tier.isPaid ? min(user.paidSinceMs ?? snapshot.updatedAtMs, snapshot.updatedAtMs) : nil
            evaluate(&user, nowMs: nowMs, watermarkMs: watermarkMs, out: &out)
            return true
        }
        guard applied else { return .outdated }
        remapStripeCustomer(
            userId: snapshot.userId, from: previousCustomer, to: customer, nowMs: nowMs, store: store, out: &out)
        return .applied
    }

    private func applyWebhook(
        _ record: WebhookRecord, nowMs: Int64, store: some StateStore, out: inout [IssueChange]
    ) -> RecordDisposition {
        var applied = false
        store.mutate(.stripeEvent(record.eventId)) { slot in
            var event = slot?.stripeEventState ?? StripeEventState()
            guard !event.webhookSeen else { return false }
            applied = true
            event.webhookSeen = true
            evaluate(&event, eventId: record.eventId, nowMs: nowMs, out: &out)
            slot = .stripeEvent(event)
            return true
        }
        return applied ? .applied : .duplicateWebhook
    }

    private func applyGate(
        _ gate: PlanGate, nowMs: Int64, store: some StateStore, out: inout [IssueChange]
    ) -> RecordDisposition {
        var disposition = RecordDisposition.outdated
        store.mutate(.planGate(gate.feature)) { slot in
            let allowed = IssueText.sortedTiers(gate.allowedTiers)
            var state: PlanGateState
            if let existing = slot?.planGateState {
                guard gate.updatedAtMs >= existing.updatedAtMs else { return false }
                // The same gate delivered again is not news.
                if existing.updatedAtMs == gate.updatedAtMs, existing.allowedTiers == allowed { return false }
                disposition = .applied
                state = existing
                state.allowedTiers = allowed
                state.updatedAtMs = gate.updatedAtMs
            } else {
                disposition = .applied
                state = PlanGateState(allowedTiers: allowed, updatedAtMs: gate.updatedAtMs)
            }
            evaluate(&state, feature: gate.feature, nowMs: nowMs, out: &out)
            slot = .planGate(state)
            return true
        }
        return disposition
    }

    /// Lends the user's state in place (unique, so its arrays are not copied).
    @inline(__always)
    private func withUser(_ userId: String, _ store: some StateStore, _ body: (inout UserState.Fields) -> Bool) {
        store.mutate(.user(userId)) { slot in
            var user: UserState
            let existed: Bool
            if case .user(let state)? = slot {
                user = state
                existed = true
            } else {
                user = UserState(userId: userId)
                existed = false
            }
            slot = nil
            let changed = body(&user.fields)
            if existed || changed { slot = .user(user) }
            return changed
        }
    }

    static func paymentIntentKey(_ row: LedgerRow) -> String? {
        row.type == .purchase && row.amount > 0 ? nonEmpty(row.stripePaymentIntentId) : nil
    }

    /// Every `SUBSCRIPTION_GRANT` row with an invoice: the positive ones are duplicate candidates, and
    /// any of them is the grant a paid invoice waits for.
    static func invoiceKey(_ row: LedgerRow) -> String? {
        row.type == .subscriptionGrant ? nonEmpty(row.stripeInvoiceId) : nil
    }
}

/// An empty id counts as no id.
@inline(__always)
func nonEmpty(_ value: String?) -> String? {
    guard let value, !value.isEmpty else { return nil }
    return value
}
