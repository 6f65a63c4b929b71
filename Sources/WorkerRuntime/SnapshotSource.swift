import Foundation
import PostgresNIO
import Shared

/// The three billing tables bootstrap reads, in the order it applies them, with their queries.
enum SnapshotSource: CaseIterable {
    case webhooks, users, ledger

    var cursor: String {
        switch self {
        case .webhooks: "assure_bootstrap_webhooks"
        case .users: "assure_bootstrap_users"
        case .ledger: "assure_bootstrap_ledger"
        }
    }

    var select: String {
        switch self {
        case .webhooks:
            """
            SELECT event_id, type, stripe_payment_intent_id, stripe_invoice_id,
              (extract(epoch from processed_at) * 1000)::bigint, coalesce(source, 'stripe')
            FROM stripe_webhook_events ORDER BY event_id
            """
        case .users:
            """
            SELECT id, role, tier, coalesce(credits, 0), coalesce(unlimited_credits, false), stripe_customer_id,
              stripe_subscription_id, subscription_status, (extract(epoch from updated_at) * 1000)::bigint, version
            FROM users ORDER BY id
            """
        case .ledger:
            // With the user's `updated_at`, for the grant exception.
            """
            SELECT t.id, t.user_id, t.seq, t.type, t.amount, t.balance_after, t.stripe_event_id,
              t.stripe_payment_intent_id, t.stripe_invoice_id, t.reason, (extract(epoch from t.created_at) * 1000)::bigint,
              (extract(epoch from u.updated_at) * 1000)::bigint
            FROM credit_transactions t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.user_id, t.seq
            """
        }
    }

    /// The usable rows of one fetch, and how many rows it read.
    func decode(_ result: PostgresRowSequence, settleMs: Int64) async throws -> (rows: [SnapshotRow], read: Int) {
        var rows: [SnapshotRow] = []
        var read = 0
        switch self {
        case .webhooks:
            for try await (id, type, intent, invoice, processed, source) in result.decode(
                (String, String?, String?, String?, Int64?, String).self)
            {
                read += 1
                let record = WebhookRecord(
                    eventId: id, type: type, stripePaymentIntentId: intent, stripeInvoiceId: invoice,
                    processedAtMs: processed, source: source)
                rows.append(SnapshotRow(record: .webhook(record), table: .stripeWebhookEvents))
            }
        case .users:
            for try await (id, role, tier, credits, unlimited, customer, subscription, status, updated, version) in result
                .decode((String, String?, String?, Int64, Bool, String?, String?, String?, Int64?, Int64?).self)
            {
                read += 1
                guard let updated else { continue }
                let snapshot = AccountSnapshot(
                    userId: id, role: Role(rawValue: role ?? "USER") ?? .user,
                    tier: Tier(rawValue: tier ?? "FREE") ?? .free, credits: credits, unlimitedCredits: unlimited,
                    stripeCustomerId: customer, stripeSubscriptionId: subscription, subscriptionStatus: status,
                    updatedAtMs: updated, version: version)
                rows.append(SnapshotRow(record: .account(snapshot), table: .users))
            }
        case .ledger:
            for try await (id, user, seq, type, amount, balance, event, intent, invoice, reason, created, updated)
                in result.decode(
                    (String, String?, Int64?, String?, Int64?, Int64?, String?, String?, String?, String?, Int64?, Int64?)
                        .self)
            {
                read += 1
                guard let user, let seq, let type = type.flatMap(LedgerType.init(rawValue:)), let amount, let balance,
                    let created
                else { continue }
                let row = LedgerRow(
                    id: id, userId: user, seq: seq, type: type, amount: amount, balanceAfter: balance,
                    stripeEventId: event, stripePaymentIntentId: intent, stripeInvoiceId: invoice, reason: reason,
                    createdAtMs: created)
                // A grant older than the user's current row (less the settle time) had a tier nobody knows now.
                let judged = type != .subscriptionGrant || updated.map { created >= $0 - settleMs } ?? true
                rows.append(SnapshotRow(record: .ledger(row), table: .creditTransactions, judgeGrantTier: judged))
            }
        }
        return (rows, read)
    }
}
