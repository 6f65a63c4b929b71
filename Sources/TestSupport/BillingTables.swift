import Logging
import PostgresNIO
import Shared

/// Writes generated traffic into the contract's billing tables, as the app would have them.
public enum BillingTables {
    public static func insert(_ traffic: BillingTraffic, on connection: PostgresConnection, logger: Logger) async throws {
        try await insertUsers(traffic.users, on: connection, logger: logger)
        try await insertLedger(traffic.ledger, on: connection, logger: logger)
        try await insertWebhooks(traffic.webhooks, on: connection, logger: logger)
    }

    public static func insertUsers(_ users: [AccountSnapshot], on connection: PostgresConnection, logger: Logger)
        async throws
    {
        for chunk in users.chunked(5000) {
            try await connection.query(
                """
                INSERT INTO users (id, role, tier, credits, unlimited_credits, stripe_customer_id, stripe_subscription_id,
                  subscription_status, updated_at, version)
                SELECT id, role, tier, credits, unlimited, NULLIF(customer, ''), NULLIF(subscription, ''),
                  NULLIF(status, ''), to_timestamp(updated / 1000.0), version
                FROM unnest(\(chunk.map(\.userId))::text[], \(chunk.map(\.role.rawValue))::text[],
                  \(chunk.map(\.tier.rawValue))::text[], \(chunk.map(\.credits))::bigint[],
                  \(chunk.map(\.unlimitedCredits))::bool[], \(chunk.map { $0.stripeCustomerId ?? "" })::text[],
                  \(chunk.map { $0.stripeSubscriptionId ?? "" })::text[], \(chunk.map { $0.subscriptionStatus ?? "" })::text[],
                  \(chunk.map(\.updatedAtMs))::bigint[], \(chunk.map { $0.version ?? 0 })::bigint[])
                  AS u(id, role, tier, credits, unlimited, customer, subscription, status, updated, version)
                ON CONFLICT (id) DO UPDATE SET role = EXCLUDED.role, tier = EXCLUDED.tier, credits = EXCLUDED.credits,
                  unlimited_credits = EXCLUDED.unlimited_credits, stripe_customer_id = EXCLUDED.stripe_customer_id,
                  stripe_subscription_id = EXCLUDED.stripe_subscription_id,
                  subscription_status = EXCLUDED.subscription_status, updated_at = EXCLUDED.updated_at,
                  version = EXCLUDED.version
                """, logger: logger)
        }
    }

    public static func insertLedger(_ rows: [LedgerRow], on connection: PostgresConnection, logger: Logger) async throws {
        for chunk in rows.chunked(5000) {
            try await connection.query(
                """
                INSERT INTO credit_transactions (id, user_id, seq, type, amount, balance_after, stripe_event_id,
                  stripe_payment_intent_id, stripe_invoice_id, reason, created_at)
                SELECT id, user_id, seq, type, amount, balance, NULLIF(evt, ''), NULLIF(pi, ''), NULLIF(inv, ''),
                  NULLIF(reason, ''), to_timestamp(created / 1000.0)
                FROM unnest(\(chunk.map(\.id))::text[], \(chunk.map(\.userId))::text[], \(chunk.map(\.seq))::bigint[],
                  \(chunk.map(\.type.rawValue))::text[], \(chunk.map(\.amount))::bigint[],
                  \(chunk.map(\.balanceAfter))::bigint[], \(chunk.map { $0.stripeEventId ?? "" })::text[],
                  \(chunk.map { $0.stripePaymentIntentId ?? "" })::text[], \(chunk.map { $0.stripeInvoiceId ?? "" })::text[],
                  \(chunk.map { $0.reason ?? "" })::text[], \(chunk.map(\.createdAtMs))::bigint[])
                  AS u(id, user_id, seq, type, amount, balance, evt, pi, inv, reason, created)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }

    public static func insertWebhooks(_ records: [WebhookRecord], on connection: PostgresConnection, logger: Logger)
        async throws
    {
        for chunk in records.chunked(5000) {
            try await connection.query(
                """
                INSERT INTO stripe_webhook_events (event_id, type, stripe_payment_intent_id, stripe_invoice_id,
                  processed_at, source)
                SELECT id, NULLIF(type, ''), NULLIF(pi, ''), NULLIF(inv, ''), to_timestamp(processed / 1000.0), source
                FROM unnest(\(chunk.map(\.eventId))::text[], \(chunk.map { $0.type ?? "" })::text[],
                  \(chunk.map { $0.stripePaymentIntentId ?? "" })::text[], \(chunk.map { $0.stripeInvoiceId ?? "" })::text[],
                  \(chunk.map { $0.processedAtMs ?? 0 })::bigint[], \(chunk.map(\.source))::text[])
                  AS u(id, type, pi, inv, processed, source)
                ON CONFLICT DO NOTHING
                """, logger: logger)
        }
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
