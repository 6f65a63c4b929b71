import Logging
import PostgresNIO
import Shared

/// Reads of the billing tables (`credit_transactions`, `subscription_audit`, `users`,
/// `stripe_webhook_events`) as stored, NULLs included: the audit decides what it can use.
public enum BillingTableRepository {
    /// One `credit_transactions` row; timestamps in epoch milliseconds (nil: NULL or not finite).
    public struct LedgerTableRow: Sendable {
        public var id: String
        public var userId: String?
        public var seq: Int64?
        public var type: String?
        public var amount: Int64?
        public var balanceAfter: Int64?
        public var stripeEventId: String?
        public var stripePaymentIntentId: String?
        public var stripeInvoiceId: String?
        public var reason: String?
        public var createdAtMs: Int64?
    }

    /// One `subscription_audit` row: the tier a user had before a change, and when it changed.
    public struct TierChangeRow: Sendable {
        public var userId: String?
        public var fromTier: String?
        public var atMs: Int64?
    }

    /// One `users` row.
    public struct UserTableRow: Sendable {
        public var id: String
        public var role: String?
        public var tier: String?
        public var credits: Int64
        public var unlimitedCredits: Bool
        public var stripeCustomerId: String?
        public var stripeSubscriptionId: String?
        public var subscriptionStatus: String?
        public var updatedAtMs: Int64?
        public var version: Int64?
    }

    /// Every ledger row, by user and seq.
    public static func ledger(on connection: PostgresConnection, logger: Logger) async throws -> [LedgerTableRow] {
        let rows = try await connection.query(
            """
            SELECT id, user_id, seq, type, amount, balance_after, stripe_event_id, stripe_payment_intent_id,
              stripe_invoice_id, reason,
              CASE WHEN isfinite(created_at) THEN (extract(epoch from created_at) * 1000)::bigint END
            FROM credit_transactions ORDER BY user_id, seq
            """, logger: logger)
        var result: [LedgerTableRow] = []
        for try await (id, user, seq, type, amount, balance, event, intent, invoice, reason, created) in rows.decode(
            (String, String?, Int64?, String?, Int64?, Int64?, String?, String?, String?, String?, Int64?).self)
        {
            result.append(
                LedgerTableRow(
                    id: id, userId: user, seq: seq, type: type, amount: amount, balanceAfter: balance,
                    stripeEventId: event, stripePaymentIntentId: intent, stripeInvoiceId: invoice, reason: reason,
                    createdAtMs: created))
        }
        return result
    }

    /// Every tier change of the audit table, oldest first.
    public static func tierChanges(on connection: PostgresConnection, logger: Logger) async throws -> [TierChangeRow] {
        let rows = try await connection.query(
            """
            SELECT user_id, from_tier, CASE WHEN isfinite(created_at) THEN (extract(epoch from created_at) * 1000)::bigint END
            FROM subscription_audit ORDER BY created_at
            """, logger: logger)
        var result: [TierChangeRow] = []
        for try await (user, tier, at) in rows.decode((String?, String?, Int64?).self) {
            result.append(TierChangeRow(userId: user, fromTier: tier, atMs: at))
        }
        return result
    }

    /// Every user, by id.
    public static func users(on connection: PostgresConnection, logger: Logger) async throws -> [UserTableRow] {
        let rows = try await connection.query(
            """
            SELECT id, role, tier, coalesce(credits, 0), coalesce(unlimited_credits, false), stripe_customer_id,
              stripe_subscription_id, subscription_status,
              CASE WHEN isfinite(updated_at) THEN (extract(epoch from updated_at) * 1000)::bigint END, version
            FROM users ORDER BY id
            """, logger: logger)
        var result: [UserTableRow] = []
        for try await (id, role, tier, credits, unlimited, customer, subscription, status, updated, version) in rows
            .decode((String, String?, String?, Int64, Bool, String?, String?, String?, Int64?, Int64?).self)
        {
            result.append(
                UserTableRow(
                    id: id, role: role, tier: tier, credits: credits, unlimitedCredits: unlimited,
                    stripeCustomerId: customer, stripeSubscriptionId: subscription, subscriptionStatus: status,
                    updatedAtMs: updated, version: version))
        }
        return result
    }

    /// Every processed webhook, by event id.
    public static func webhooks(on connection: PostgresConnection, logger: Logger) async throws -> [WebhookRecord] {
        let rows = try await connection.query(
            """
            SELECT event_id, type, stripe_payment_intent_id, stripe_invoice_id,
              CASE WHEN isfinite(processed_at) THEN (extract(epoch from processed_at) * 1000)::bigint END,
              coalesce(source, 'stripe')
            FROM stripe_webhook_events ORDER BY event_id
            """, logger: logger)
        var result: [WebhookRecord] = []
        for try await (id, type, intent, invoice, processed, source) in rows.decode(
            (String, String?, String?, String?, Int64?, String).self)
        {
            result.append(
                WebhookRecord(
                    eventId: id, type: type, stripePaymentIntentId: intent, stripeInvoiceId: invoice,
                    processedAtMs: processed, source: source))
        }
        return result
    }
}
