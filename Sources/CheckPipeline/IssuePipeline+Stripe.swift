import Shared

// The Stripe checks: Stripe's own events (`stripeCustomer` keys) against the local tier (user keys)
// and the ledger's subscription grants (invoice keys).
//
// A customer's state lists the users whose latest snapshot names it; each such user's state holds a
// copy of the customer's subscriptions (`StripeView`), pushed when they change. So a Stripe event
// reaches the users of its customer, a snapshot that moves a user to another customer reaches the one
// it leaves, and a grant reaches the customer of its invoice: keys that only the states know
// (`dependentKeys(for:store:)`), on top of the ones the record names.

extension IssuePipeline {
    static func stripeStateKeys(_ event: StripeEvent) -> [StateKey] {
        var keys: [StateKey] = [.stripeCustomer(event.customerId)]
        if event.type == .invoicePaid { keys.append(.invoice(event.objectId)) }
        return keys
    }

    /// The keys a record reaches through the states as they stand before it, beyond
    /// `stateKeys(for:)`: the users of a customer whose subscription changes, the customer a user's
    /// snapshot moves away from, the customer waiting for a grant's invoice.
    ///
    /// - Important: Computed over the states before a batch, the union over the batch's records plus
    ///   their `stateKeys(for:)` covers every key the batch touches: what a record of the same batch
    ///   adds to these lists (a snapshot naming the customer, an `invoice.paid` naming the invoice's
    ///   customer) is a key that record names itself.
    public static func dependentKeys(for record: BillingRecord, store: some StateStore) -> [StateKey] {
        switch record {
        case .stripe(let event) where event.type.isSubscription:
            guard let customer = store.get(.stripeCustomer(event.customerId))?.stripeCustomerState else { return [] }
            return customer.users.map { .user($0) }
        case .account(let snapshot):
            guard let old = nonEmpty(store.get(.user(snapshot.userId))?.userState?.account?.stripeCustomerId),
                old != nonEmpty(snapshot.stripeCustomerId)
            else { return [] }
            return [.stripeCustomer(old)]
        case .ledger(let row):
            guard let invoice = invoiceKey(row),
                let customer = store.get(.invoice(invoice))?.carrierGroupState?.invoiceCustomer
            else { return [] }
            return [.stripeCustomer(customer)]
        default:
            return []
        }
    }

    /// `dependentKeys(for:store:)` over a batch, less the keys the records name themselves.
    public static func dependentKeys(for records: some Sequence<BillingRecord>, store: some StateStore) -> Set<StateKey> {
        var named = Set<StateKey>()
        var reached = Set<StateKey>()
        for record in records {
            named.formUnion(stateKeys(for: record))
            reached.formUnion(dependentKeys(for: record, store: store))
        }
        return reached.subtracting(named)
    }

    // MARK: - Records

    func applyStripe(
        _ event: StripeEvent, nowMs: Int64, store: some StateStore, out: inout [IssueChange]
    ) -> RecordDisposition {
        let customerId = event.customerId
        var invoice: CarrierGroupState? = nil
        if event.type == .invoicePaid { invoice = store.get(.invoice(event.objectId))?.carrierGroupState }
        // The invoice belongs to the customer of its first `invoice.paid`.
        let owns = event.type == .invoicePaid && (invoice?.invoiceCustomer ?? customerId) == customerId
        var disposition = RecordDisposition.duplicateStripeEvent
        var push: (users: [String], subscriptions: [SubscriptionView])? = nil
        store.mutate(.stripeCustomer(customerId)) { slot in
            var customer = slot?.stripeCustomerState ?? StripeCustomerState()
            guard customer.insertEventId(event.id) else { return false }
            disposition = .applied
            if event.type.isSubscription {
                if customer.apply(subscription: event), !customer.users.isEmpty {
                    push = (customer.users, customer.subscriptionViews)
                }
            } else if owns, !(invoice?.granted ?? false) {
                customer.apply(invoice: event)
                evaluate(&customer, customerId: customerId, nowMs: nowMs, out: &out)
            }
            slot = .stripeCustomer(customer)
            return true
        }
        guard disposition == .applied else { return disposition }
        if event.type == .invoicePaid, invoice?.invoiceCustomer == nil {
            store.mutate(.invoice(event.objectId)) { slot in
                var group = slot?.carrierGroupState ?? CarrierGroupState()
                group.invoiceCustomer = customerId
                slot = .carrierGroup(group)
                return true
            }
        }
        if let push {
            let view = StripeView(customerId: customerId, subscriptions: push.subscriptions)
            for userId in push.users {
                store.mutate(.user(userId)) { slot in
                    guard case .user(var user)? = slot else { return false }
                    slot = nil
                    user.fields.stripeView = view
                    evaluateStripe(&user.fields, nowMs: nowMs, out: &out)
                    slot = .user(user)
                    return true
                }
            }
        }
        return disposition
    }

    /// Moves a user whose snapshot was applied from the customer it named to the one it names now.
    func remapStripeCustomer(
        userId: String, from old: String?, to new: String?, nowMs: Int64, store: some StateStore,
        out: inout [IssueChange]
    ) {
        if let old, old != new {
            store.mutate(.stripeCustomer(old)) { slot in
                guard var customer = slot?.stripeCustomerState, customer.removeUser(userId) else { return false }
                evaluate(&customer, customerId: old, nowMs: nowMs, out: &out)
                // A customer that no user names and that has no events is nothing worth keeping.
                slot = customer.users.isEmpty && customer.eventIds.isEmpty ? nil : .stripeCustomer(customer)
                return true
            }
        }
        if let new {
            store.mutate(.stripeCustomer(new)) { slot in
                var customer = slot?.stripeCustomerState ?? StripeCustomerState()
                guard customer.addUser(userId) else { return false }
                evaluate(&customer, customerId: new, nowMs: nowMs, out: &out)
                slot = .stripeCustomer(customer)
                return true
            }
        }
    }

    /// A `SUBSCRIPTION_GRANT` row carrying `invoice`: a duplicate-grant candidate when positive, and the
    /// grant the invoice's customer waits for.
    func applyInvoiceGrant(
        _ row: LedgerRow, invoice: String, nowMs: Int64, store: some StateStore, out: inout [IssueChange]
    ) {
        var waiting: String? = nil
        store.mutate(.invoice(invoice)) { slot in
            var group = slot?.carrierGroupState ?? CarrierGroupState()
            var changed = false
            if row.amount > 0,
                group.rows.add(rowId: row.id, userId: row.userId, amount: row.amount, createdAtMs: row.createdAtMs)
            {
                evaluate(&group, key: .invoice(invoice), nowMs: nowMs, out: &out)
                changed = true
            }
            if !group.granted {
                group.granted = true
                waiting = group.invoiceCustomer
                changed = true
            }
            if changed { slot = .carrierGroup(group) }
            return changed
        }
        guard let waiting else { return }
        store.mutate(.stripeCustomer(waiting)) { slot in
            guard var customer = slot?.stripeCustomerState,
                let index = customer.invoices.firstIndex(where: { $0.id == invoice })
            else { return false }
            let granted = customer.invoices.remove(at: index)
            if let open = granted.open {
                out.append(invoiceChange(granted, evidence: open, customerId: waiting, kind: .resolve(.selfHealed), nowMs: nowMs))
            }
            slot = .stripeCustomer(customer)
            return true
        }
    }

    // MARK: - Evaluation

    /// `stripe_paid_local_free` and `local_paid_stripe_inactive` of one user.
    ///
    /// Each condition must hold for the settle time, counted from when it began to hold (a customer
    /// that a user names only now starts counting now); each resolves as soon as it no longer holds.
    func evaluateStripe(_ user: inout UserState.Fields, nowMs: Int64, out: inout [IssueChange]) {
        guard user.stripeView != nil || user.paidFreeSinceMs != nil || user.inactivePaidSinceMs != nil
            || user.openStripePaidFree != nil || user.openStripeInactive != nil
        else { return }
        var paidFree = false
        var inactivePaid = false
        var shown: StripeUserEvidence? = nil
        if let account = user.account, let customer = nonEmpty(account.stripeCustomerId), let view = user.stripeView,
            view.customerId == customer
        {
            switch view.standing {
            case .paid: paidFree = account.tier == .free
            case .inactive: inactivePaid = account.tier.isPaid
            case .unknown: break
            }
            shown = StripeUserEvidence(tier: account.tier, customerId: customer, subscriptions: view.subscriptions)
        }
        let settle = settings.settleMs
        // Held while accounts have delivered nothing since the condition began (a snapshot on its way
        // may change the tier): a held check neither opens nor resolves.
        func settled(_ holds: Bool, _ since: inout Int64?, _ check: HeldCheck, open: StripeUserEvidence?)
            -> StripeUserEvidence?
        {
            guard holds else {
                since = nil
                return nil
            }
            let start = PendingSince.release(since ?? PendingSince.held(nowMs), waitingOn: check.inputs, clock: inputs)
            since = start
            if PendingSince.isHeld(start) { return open }
            return addClamped(start, settle) <= nowMs ? shown : nil
        }
        let paidFreeEvidence = settled(
            paidFree, &user.paidFreeSinceMs, .stripePaidLocalFree, open: user.openStripePaidFree)
        let inactiveEvidence = settled(
            inactivePaid, &user.inactivePaidSinceMs, .localPaidStripeInactive, open: user.openStripeInactive)
        let userId = user.userId
        if paidFreeEvidence != user.openStripePaidFree {
            let evidence = paidFreeEvidence ?? user.openStripePaidFree!
            out.append(
                IssueChange(
                    issueId: CheckKind.stripePaidLocalFree.issueId(userId), check: .stripePaidLocalFree, userId: userId,
                    kind: Self.kind(old: user.openStripePaidFree, new: paidFreeEvidence),
                    title: IssueText.stripePaidLocalFree(
                        customerId: evidence.customerId, subscriptions: evidence.subscriptions),
                    evidence: evidence.json, repair: nil, atMs: nowMs))
            user.openStripePaidFree = paidFreeEvidence
        }
        if inactiveEvidence != user.openStripeInactive {
            let evidence = inactiveEvidence ?? user.openStripeInactive!
            out.append(
                IssueChange(
                    issueId: CheckKind.localPaidStripeInactive.issueId(userId), check: .localPaidStripeInactive,
                    userId: userId, kind: Self.kind(old: user.openStripeInactive, new: inactiveEvidence),
                    title: IssueText.localPaidStripeInactive(
                        tier: evidence.tier, customerId: evidence.customerId, subscriptions: evidence.subscriptions),
                    evidence: evidence.json, repair: nil, atMs: nowMs))
            user.openStripeInactive = inactiveEvidence
        }
    }

    /// `paid_invoice_without_grant` of a customer's invoices still waiting for their grant: open once
    /// an invoice that calls for a grant has waited the settle time while a user names the customer.
    func evaluate(
        _ customer: inout StripeCustomerState, customerId: String, nowMs: Int64, out: inout [IssueChange]
    ) {
        let owner = customer.users.first
        let settle = settings.settleMs
        for index in customer.invoices.indices {
            var invoice = customer.invoices[index]
            var desired: InvoiceEvidence? = nil
            if let owner, invoice.callsForGrant {
                // Held while the ledger has delivered nothing since (the grant row may be on its way).
                let since = PendingSince.release(
                    invoice.sinceMs ?? PendingSince.held(nowMs), waitingOn: HeldCheck.paidInvoiceWithoutGrant.inputs,
                    clock: inputs)
                invoice.sinceMs = since
                if PendingSince.isHeld(since) {
                    desired = invoice.open
                } else if addClamped(since, settle) <= nowMs {
                    desired = InvoiceEvidence(
                        userId: owner, amountPaid: invoice.amountPaid ?? 0, currency: invoice.currency,
                        subscriptionId: invoice.subscriptionId, billingReason: invoice.billingReason,
                        createdMs: invoice.createdMs)
                }
            } else {
                invoice.sinceMs = nil
            }
            if desired != invoice.open {
                out.append(
                    invoiceChange(
                        invoice, evidence: desired ?? invoice.open!, customerId: customerId,
                        kind: Self.kind(old: invoice.open, new: desired), nowMs: nowMs))
                invoice.open = desired
            }
            customer.invoices[index] = invoice
        }
    }

    private func invoiceChange(
        _ invoice: PaidInvoice, evidence: InvoiceEvidence, customerId: String, kind: IssueChange.Kind, nowMs: Int64
    ) -> IssueChange {
        IssueChange(
            issueId: CheckKind.paidInvoiceWithoutGrant.issueId(invoice.id), check: .paidInvoiceWithoutGrant,
            userId: evidence.userId, kind: kind,
            title: IssueText.invoiceWithoutGrant(
                invoiceId: invoice.id, amountPaid: evidence.amountPaid, currency: evidence.currency),
            evidence: evidence.json(invoiceId: invoice.id, customerId: customerId), repair: nil, atMs: nowMs)
    }
}
