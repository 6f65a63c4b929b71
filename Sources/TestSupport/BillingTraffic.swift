import Foundation
import Shared

/// A realistic billing stream with injected faults of every kind, for the demo, tests and benchmarks.
///
/// Users buy credits (purchases with payment intents), renew paid plans (invoice-backed grants),
/// spend credits (usage), and their webhook records arrive slightly after the ledger rows. Faults
/// are injected on a few users each, and `expectedIssueIds` names the issues they must open.
public struct BillingTraffic: Sendable {
    public struct Options: Sendable {
        public var users: Int
        public var eventsPerUser: Int
        public var seed: UInt64
        /// Event time of the newest row; the stream spans the 60 days before it.
        public var endMs: Int64
        public var injectFaults: Bool
        public var largeMovement: Int64
        /// Every `faultEvery`-th user carries a fault of its own (ten kinds in turn).
        public var faultEvery: Int

        public init(
            users: Int = 1000, eventsPerUser: Int = 40, seed: UInt64 = 42, endMs: Int64, injectFaults: Bool = true,
            largeMovement: Int64 = 100_000, faultEvery: Int = 97
        ) {
            self.faultEvery = faultEvery
            self.users = users
            self.eventsPerUser = eventsPerUser
            self.seed = seed
            self.endMs = endMs
            self.injectFaults = injectFaults
            self.largeMovement = largeMovement
        }
    }

    /// One input message in publication order.
    public enum Event: Sendable, Hashable {
        case ledger(LedgerRow)
        case account(AccountSnapshot)
        case webhook(WebhookRecord)
        case gate(PlanGate)
        /// A Stripe event as Stripe sends it (`billing.stripe.v1`).
        case stripe(StripeEvent)
        /// A message that cannot be used, for the dead-letter path.
        case malformed(topic: InputTopic, key: String, value: [UInt8])
    }

    /// Which input topic a malformed message goes to.
    public enum InputTopic: Sendable, Hashable {
        case ledger, accounts

        func name(in topics: Topics) -> String { self == .ledger ? topics.ledger : topics.accounts }
    }

    public var events: [Event] = []
    /// The final `users` rows (the last snapshot of each user).
    public var users: [AccountSnapshot] = []
    public var ledger: [LedgerRow] = []
    public var webhooks: [WebhookRecord] = []
    public var gates: [PlanGate] = []
    public var stripe: [StripeEvent] = []
    /// The issues the injected faults must open.
    public var expectedIssueIds: Set<String> = []

    static let day: Int64 = 86_400_000

    public static func generate(_ options: Options) -> BillingTraffic {
        var builder = Builder(options: options)
        builder.build()
        return builder.traffic
    }

    /// The messages to publish, in order.
    public func messages(topics: Topics) -> [OutboundMessage] {
        events.map { event in
            switch event {
            case .ledger(let row):
                OutboundMessage(topic: topics.ledger, key: Array(row.userId.utf8), value: BillingJSON.ledger(row))
            case .account(let snapshot):
                OutboundMessage(topic: topics.accounts, key: Array(snapshot.userId.utf8), value: BillingJSON.account(snapshot))
            case .webhook(let record):
                OutboundMessage(topic: topics.webhooks, key: Array(record.eventId.utf8), value: BillingJSON.webhook(record))
            case .gate(let gate):
                OutboundMessage(topic: topics.planGates, key: Array(gate.feature.utf8), value: BillingJSON.gate(gate))
            case .stripe(let event):
                OutboundMessage(topic: topics.stripe, key: Array(event.customerId.utf8), value: BillingJSON.stripe(event))
            case .malformed(let topic, let key, let value):
                OutboundMessage(topic: topic.name(in: topics), key: Array(key.utf8), value: value)
            }
        }
    }

    struct Builder {
        let options: Options
        var rng: SeededGenerator
        var traffic = BillingTraffic()
        var nextRow = 0
        /// Users that carry a fault of their own; cross-user faults pick other users.
        var faulted: Set<String> = []

        init(options: Options) {
            self.options = options
            self.rng = SeededGenerator(seed: options.seed)
        }

        mutating func rowId() -> String {
            nextRow += 1
            return "ctx_\(options.seed)_\(nextRow)"
        }

        mutating func build() {
            let startMs = options.endMs - 60 * BillingTraffic.day
            let policy = PlanPolicy.builtIn
            for feature in policy.features.keys.sorted() {
                emit(.gate(PlanGate(feature: feature, allowedTiers: policy.features[feature]!.allowedTiers, updatedAtMs: startMs)))
            }
            for index in 0..<options.users {
                user(index: index, startMs: startMs)
            }
            if options.injectFaults { injectCrossUserFaults(startMs: startMs) }
        }

        mutating func emit(_ event: Event) {
            traffic.events.append(event)
            switch event {
            case .ledger(let row): traffic.ledger.append(row)
            case .webhook(let record): traffic.webhooks.append(record)
            case .gate(let gate): traffic.gates.append(gate)
            case .stripe(let event): traffic.stripe.append(event)
            case .account, .malformed: break
            }
        }

        /// One user's life: an account snapshot, then purchases, renewals and usage, each webhook a little later.
        mutating func user(index: Int, startMs: Int64) {
            let userId = "user_\(index)"
            let tier: Tier = index % 5 == 0 ? .team : (index % 2 == 0 ? .pro : .free)
            let fault = options.injectFaults ? index : -1
            var snapshot = AccountSnapshot(
                userId: userId, role: .user, tier: tier, credits: 0,
                stripeCustomerId: tier.isPaid || index % 3 == 0 ? "cus_\(index)" : nil,
                stripeSubscriptionId: tier.isPaid ? "sub_\(index)" : nil,
                subscriptionStatus: tier.isPaid ? "active" : nil, updatedAtMs: startMs, version: 1)
            emit(.account(snapshot))
            if let customer = snapshot.stripeCustomerId, tier.isPaid {
                emit(.stripe(StripeEvent(
                    id: "evt_sub_\(index)", type: .subscriptionCreated, createdMs: startMs / 1000 * 1000,
                    customerId: customer, objectId: "sub_\(index)", status: "active")))
            }
            var balance: Int64 = 0
            var seq: Int64 = 0
            var time = startMs + Int64.random(in: 0..<BillingTraffic.day, using: &rng)
            let step = (55 * BillingTraffic.day) / Int64(max(options.eventsPerUser, 1))
            var pendingWebhooks: [WebhookRecord] = []
            // Paid plans renew monthly with an invoice-backed grant, up to the end of the stream.
            var nextRenewal = startMs + Int64.random(in: 0..<(20 * BillingTraffic.day), using: &rng)
            var renewal = 0
            func ledgerRow(_ type: LedgerType, amount: Int64, at: Int64, event: String?, intent: String?, invoice: String?) {
                seq += 1
                balance += amount
                let row = LedgerRow(
                    id: rowId(), userId: userId, seq: seq, type: type, amount: amount, balanceAfter: balance,
                    stripeEventId: event, stripePaymentIntentId: intent, stripeInvoiceId: invoice, createdAtMs: at)
                if let event {
                    pendingWebhooks.append(
                        WebhookRecord(
                            eventId: event, type: type == .purchase ? "payment_intent.succeeded" : "invoice.paid",
                            stripePaymentIntentId: intent, stripeInvoiceId: invoice, processedAtMs: at + 2000))
                }
                emit(.ledger(row))
                // Webhook records arrive a little after their ledger rows.
                if pendingWebhooks.count > 1 {
                    for record in pendingWebhooks { emit(.webhook(record)) }
                    pendingWebhooks.removeAll()
                }
            }
            func renewUntil(_ limit: Int64) {
                while tier.isPaid, nextRenewal <= limit {
                    renewal += 1
                    ledgerRow(
                        .subscriptionGrant, amount: tier == .team ? 5000 : 1000, at: nextRenewal,
                        event: "evt_\(index)_r\(renewal)", intent: nil, invoice: "in_\(index)_\(renewal)")
                    // Stripe's invoice.paid for the renewal, right after the grant it paid for.
                    if let customer = snapshot.stripeCustomerId {
                        emit(.stripe(StripeEvent(
                            id: "evt_inv_\(index)_\(renewal)", type: .invoicePaid, createdMs: nextRenewal / 1000 * 1000,
                            customerId: customer, objectId: "in_\(index)_\(renewal)", subscriptionId: "sub_\(index)",
                            billingReason: "subscription_cycle", amountPaid: tier == .team ? 9900 : 2900, currency: "usd")))
                    }
                    time = max(time, nextRenewal)
                    nextRenewal += 30 * BillingTraffic.day
                }
            }
            for n in 0..<options.eventsPerUser {
                let next = time + Int64.random(in: step / 2...step, using: &rng)
                renewUntil(next)
                time = max(time, next) + 1
                if Int.random(in: 0..<10, using: &rng) < 3 {
                    ledgerRow(
                        .purchase, amount: Int64.random(in: 1...20, using: &rng) * 100, at: time, event: "evt_\(index)_\(n)",
                        intent: "pi_\(index)_\(n)", invoice: nil)
                } else {
                    ledgerRow(.usage, amount: -min(balance, Int64.random(in: 1...50, using: &rng)), at: time, event: nil, intent: nil, invoice: nil)
                }
            }
            renewUntil(options.endMs - BillingTraffic.day)
            for record in pendingWebhooks { emit(.webhook(record)) }
            snapshot.credits = balance
            snapshot.updatedAtMs = time + 1000
            snapshot.version = 2
            injectUserFault(fault, snapshot: &snapshot, seq: &seq, balance: &balance, time: time)
            emit(.account(snapshot))
            traffic.users.append(snapshot)
        }

        /// A few users carry one fault each; which one follows from the index.
        mutating func injectUserFault(
            _ index: Int, snapshot: inout AccountSnapshot, seq: inout Int64, balance: inout Int64, time: Int64
        ) {
            let every = options.faultEvery
            guard index >= 0, index % every == 13 % every else { return }
            let userId = snapshot.userId
            faulted.insert(userId)
            switch (index / every) % 10 {
            case 0:
                snapshot.credits += 100
                traffic.expectedIssueIds.insert(CheckKind.creditBalanceMismatch.issueId(userId))
            case 1:
                seq += 2  // seq - 1 never arrives
                balance += 10
                emit(.ledger(LedgerRow(id: rowId(), userId: userId, seq: seq, type: .adjustment, amount: 10, balanceAfter: balance, createdAtMs: time + 10)))
                snapshot.credits = balance
                traffic.expectedIssueIds.insert(CheckKind.ledgerSequenceGap.issueId(userId, String(seq - 1)))
            case 2:
                seq += 1
                balance += 50
                let id = rowId()
                emit(.ledger(LedgerRow(id: id, userId: userId, seq: seq, type: .adjustment, amount: 40, balanceAfter: balance, createdAtMs: time + 10)))
                snapshot.credits = balance
                traffic.expectedIssueIds.insert(CheckKind.ledgerArithmeticBreak.issueId(userId, String(seq)))
            case 3:
                snapshot.tier = .pro
                snapshot.stripeCustomerId = nil
                snapshot.subscriptionStatus = nil
                traffic.expectedIssueIds.insert(CheckKind.paidTierWithoutCustomer.issueId(userId))
            case 4:
                snapshot.unlimitedCredits = true
                snapshot.role = .user
                traffic.expectedIssueIds.insert(CheckKind.nonAdminUnlimitedCredits.issueId(userId))
            case 5:
                guard snapshot.stripeCustomerId != nil else { fallthrough }
                snapshot.tier = snapshot.tier == .free ? .pro : snapshot.tier
                snapshot.subscriptionStatus = "canceled"
                traffic.expectedIssueIds.insert(CheckKind.tierSubscriptionMismatch.issueId(userId))
            case 6:
                seq += 1
                balance += 700
                let id = rowId()
                emit(.ledger(LedgerRow(id: id, userId: userId, seq: seq, type: .purchase, amount: 700, balanceAfter: balance, createdAtMs: time + 10)))
                snapshot.credits = balance
                traffic.expectedIssueIds.insert(CheckKind.purchaseWithoutPaymentIntent.issueId(id))
            case 7:
                seq += 1
                balance += options.largeMovement
                let id = rowId()
                emit(.ledger(LedgerRow(id: id, userId: userId, seq: seq, type: .adjustment, amount: options.largeMovement, balanceAfter: balance, createdAtMs: time + 10)))
                snapshot.credits = balance
                traffic.expectedIssueIds.insert(CheckKind.largeCreditMovement.issueId(id))
            case 8:
                seq += 1
                balance += 300
                let id = rowId()
                emit(.ledger(LedgerRow(id: id, userId: userId, seq: seq, type: .purchase, amount: 300, balanceAfter: balance, stripeEventId: "evt_lost_\(index)", stripePaymentIntentId: "pi_lost_\(index)", createdAtMs: time + 10)))
                snapshot.credits = balance
                traffic.expectedIssueIds.insert(CheckKind.missingIdempotencyRecord.issueId("evt_lost_\(index)"))
            default:
                emit(.malformed(topic: .ledger, key: userId, value: Array("{\"id\": \"broken_\(index)\", \"seq\": \"seven\"}".utf8)))
                emit(.malformed(topic: .accounts, key: userId, value: Array("not json at all".utf8)))
            }
        }

        /// Faults that span users or features: duplicates across users, a plan-gate regression,
        /// a grant to a FREE user, a grant without an invoice, and a stale paid subscription.
        mutating func injectCrossUserFaults(startMs: Int64) {
            let end = options.endMs
            func lastBalance(_ userId: String) -> (seq: Int64, balance: Int64) {
                let rows = traffic.ledger.filter { $0.userId == userId }
                let last = rows.max { $0.seq < $1.seq }
                return (last?.seq ?? 0, last?.balanceAfter ?? 0)
            }
            func append(_ userId: String, _ make: (Int64, Int64) -> LedgerRow) {
                let (seq, balance) = lastBalance(userId)
                let row = make(seq + 1, balance)
                emit(.ledger(row))
                if let index = traffic.users.firstIndex(where: { $0.userId == userId }) {
                    traffic.users[index].credits = row.balanceAfter
                    traffic.users[index].version = (traffic.users[index].version ?? 0) + 1
                    traffic.users[index].updatedAtMs = row.createdAtMs + 1
                    emit(.account(traffic.users[index]))
                }
            }
            let faulted = self.faulted
            let paid = traffic.users.filter { !faulted.contains($0.userId) && $0.tier.isPaid && $0.stripeCustomerId != nil && $0.subscriptionStatus == "active" && !$0.unlimitedCredits }
            let free = traffic.users.filter { !faulted.contains($0.userId) && $0.tier == .free }
            guard paid.count >= 6, free.count >= 2 else { return }
            // The same Stripe event credited to two users.
            append(paid[0].userId) { seq, balance in
                LedgerRow(id: "dup_evt_a", userId: paid[0].userId, seq: seq, type: .adjustment, amount: 250, balanceAfter: balance + 250, stripeEventId: "evt_dup_1", createdAtMs: end - 5000)
            }
            append(paid[1].userId) { seq, balance in
                LedgerRow(id: "dup_evt_b", userId: paid[1].userId, seq: seq, type: .adjustment, amount: 250, balanceAfter: balance + 250, stripeEventId: "evt_dup_1", createdAtMs: end - 4000)
            }
            emit(.webhook(WebhookRecord(eventId: "evt_dup_1", type: "charge.succeeded", processedAtMs: end - 3000)))
            traffic.expectedIssueIds.insert(CheckKind.duplicateCreditEvent.issueId("evt_dup_1"))
            // One payment intent credited twice.
            for (n, user) in [paid[2], paid[3]].enumerated() {
                append(user.userId) { seq, balance in
                    LedgerRow(id: "dup_pi_\(n)", userId: user.userId, seq: seq, type: .purchase, amount: 900, balanceAfter: balance + 900, stripeEventId: "evt_dup_pi_\(n)", stripePaymentIntentId: "pi_dup_1", createdAtMs: end - 3000 + Int64(n))
                }
                emit(.webhook(WebhookRecord(eventId: "evt_dup_pi_\(n)", type: "payment_intent.succeeded", stripePaymentIntentId: "pi_dup_1", processedAtMs: end - 2000)))
            }
            traffic.expectedIssueIds.insert(CheckKind.duplicatePaymentIntent.issueId("pi_dup_1"))
            // One invoice granted twice.
            for (n, user) in [paid[4], paid[5]].enumerated() {
                append(user.userId) { seq, balance in
                    LedgerRow(id: "dup_inv_\(n)", userId: user.userId, seq: seq, type: .subscriptionGrant, amount: 1000, balanceAfter: balance + 1000, stripeEventId: "evt_dup_inv_\(n)", stripeInvoiceId: "in_dup_1", createdAtMs: end - 2000 + Int64(n))
                }
                emit(.webhook(WebhookRecord(eventId: "evt_dup_inv_\(n)", type: "invoice.paid", stripeInvoiceId: "in_dup_1", processedAtMs: end - 1000)))
            }
            traffic.expectedIssueIds.insert(CheckKind.duplicateInvoiceGrant.issueId("in_dup_1"))
            // A subscription grant to a FREE user, and a grant without an invoice.
            append(free[0].userId) { seq, balance in
                LedgerRow(id: "free_grant_1", userId: free[0].userId, seq: seq, type: .subscriptionGrant, amount: 1000, balanceAfter: balance + 1000, stripeEventId: "evt_free_grant", stripeInvoiceId: "in_free_grant", createdAtMs: end - 1500)
            }
            emit(.webhook(WebhookRecord(eventId: "evt_free_grant", type: "invoice.paid", stripeInvoiceId: "in_free_grant", processedAtMs: end - 1000)))
            traffic.expectedIssueIds.insert(CheckKind.freeUserSubscriptionGrant.issueId("free_grant_1"))
            append(free[1].userId) { seq, balance in
                LedgerRow(id: "grant_no_invoice_1", userId: free[1].userId, seq: seq, type: .subscriptionGrant, amount: 500, balanceAfter: balance + 500, createdAtMs: end - 1200)
            }
            traffic.expectedIssueIds.insert(CheckKind.subscriptionGrantWithoutInvoice.issueId("grant_no_invoice_1"))
            traffic.expectedIssueIds.insert(CheckKind.freeUserSubscriptionGrant.issueId("grant_no_invoice_1"))
            // A plan gate that lets FREE users into a premium feature.
            emit(.gate(PlanGate(feature: "advanced_exports", allowedTiers: [.free, .pro, .team], updatedAtMs: end - 1000)))
            traffic.expectedIssueIds.insert(CheckKind.planGateRegression.issueId("advanced_exports"))
            // A paid user whose last invoice-backed renewal is older than the period: a PRO account
            // opened long ago with only usage since.
            let staleId = "user_stale"
            let stale = AccountSnapshot(userId: staleId, role: .user, tier: .pro, credits: 0, stripeCustomerId: "cus_stale", stripeSubscriptionId: "sub_stale", subscriptionStatus: "active", updatedAtMs: startMs, version: 1)
            emit(.account(stale))
            traffic.users.append(stale)
            traffic.expectedIssueIds.insert(CheckKind.stalePaidSubscription.issueId(staleId))
            injectStripeFaults()
            // The newest event time of the stream, so the stale check sees the whole period pass.
            emit(.webhook(WebhookRecord(eventId: "evt_clock", type: "ping", processedAtMs: end)))
        }
    }
}
