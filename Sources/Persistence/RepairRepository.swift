import Logging
import PostgresNIO
import Shared

/// The billing-table reads and writes of repairs, each inside the repair's transaction.
public enum RepairRepository {
    /// Serializes work on `name` across workers until the transaction ends.
    public static func lock(_ name: String, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_advisory_xact_lock(hashtextextended(\(name), 0))", logger: logger)
    }

    /// A `users` row as a repair reads it (NULL credits and flags as 0 and false).
    public struct UserFields: Sendable {
        public var role: String?
        public var tier: String?
        public var credits: Int64
        public var unlimitedCredits: Bool
        public var stripeCustomerId: String?
        public var stripeSubscriptionId: String?
        public var subscriptionStatus: String?
        public var version: Int64
    }

    /// Reads and locks (`FOR UPDATE`) one user; nil when there is no such row.
    public static func lockUser(id: String, on connection: PostgresConnection, logger: Logger) async throws -> UserFields? {
        let rows = try await connection.query(
            """
            SELECT role, tier, coalesce(credits, 0), coalesce(unlimited_credits, false), stripe_customer_id,
              stripe_subscription_id, subscription_status, coalesce(version, 0)
            FROM users WHERE id = \(id) FOR UPDATE
            """, logger: logger)
        for try await (role, tier, credits, unlimited, customer, subscription, status, version) in rows.decode(
            (String?, String?, Int64, Bool, String?, String?, String?, Int64).self)
        {
            return UserFields(
                role: role, tier: tier, credits: credits, unlimitedCredits: unlimited, stripeCustomerId: customer,
                stripeSubscriptionId: subscription, subscriptionStatus: status, version: version)
        }
        return nil
    }

    /// Writes a user's tier, credits, unlimited flag and version, dated `nowMs`.
    public static func saveUser(
        id: String, tier: String, credits: Int64, unlimitedCredits: Bool, version: Int64, nowMs: Int64,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE users SET tier = \(tier), credits = \(credits), unlimited_credits = \(unlimitedCredits),
              version = \(version), updated_at = to_timestamp(\(Double(nowMs) / 1000))
            WHERE id = \(id)
            """, logger: logger)
    }

    /// The newest ledger row of a user (NULL seq first), locked; nil when the user has none.
    public static func lockLatestLedgerRow(userId: String, on connection: PostgresConnection, logger: Logger) async throws
        -> (id: String?, seq: Int64?, balanceAfter: Int64?)?
    {
        let rows = try await connection.query(
            """
            SELECT id, seq, balance_after FROM credit_transactions WHERE user_id = \(userId)
            ORDER BY seq DESC NULLS FIRST LIMIT 1 FOR UPDATE
            """, logger: logger)
        for try await (id, seq, balance) in rows.decode((String?, Int64?, Int64?).self) { return (id, seq, balance) }
        return nil
    }

    /// Who did a repair and why, for its audit rows.
    public struct Actor: Sendable {
        public var reason: String
        public var actorId: String
        public var commandId: String

        public init(reason: String, actorId: String, commandId: String) {
            self.reason = reason
            self.actorId = actorId
            self.commandId = commandId
        }
    }

    /// Records a tier change in `subscription_audit`.
    public static func insertTierAudit(
        id: String, userId: String, fromTier: String, toTier: String, by actor: Actor, atMs: Int64,
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            INSERT INTO subscription_audit (id, user_id, from_tier, to_tier, reason, actor, command_id, created_at)
            VALUES (\(id), \(userId), \(fromTier), \(toTier), \(actor.reason), \(actor.actorId),
                    \(actor.commandId), to_timestamp(\(Double(atMs) / 1000)))
            """, logger: logger)
    }

    /// Appends an `AUDIT` row to the ledger.
    public static func insertLedgerAudit(_ row: LedgerRow, by actor: Actor, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await connection.query(
            """
            INSERT INTO credit_transactions (id, user_id, seq, type, amount, balance_after, reason, actor, command_id,
              created_at)
            VALUES (\(row.id), \(row.userId), \(row.seq), 'AUDIT', \(row.amount), \(row.balanceAfter), \(actor.reason),
              \(actor.actorId), \(actor.commandId), to_timestamp(\(Double(row.createdAtMs) / 1000)))
            """, logger: logger)
    }

    /// Whether `stripe_webhook_events` holds `eventId`.
    public static func webhookExists(eventId: String, on connection: PostgresConnection, logger: Logger) async throws
        -> Bool
    {
        let rows = try await connection.query(
            "SELECT 1 FROM stripe_webhook_events WHERE event_id = \(eventId)", logger: logger)
        for try await _ in rows.decode(Int32.self) { return true }
        return false
    }

    /// The first ledger row that carries `eventId`: its type, payment intent and invoice.
    public static func webhookCarrier(eventId: String, on connection: PostgresConnection, logger: Logger) async throws
        -> (type: String?, paymentIntent: String?, invoice: String?)?
    {
        let rows = try await connection.query(
            """
            SELECT type, stripe_payment_intent_id, stripe_invoice_id FROM credit_transactions
            WHERE stripe_event_id = \(eventId) ORDER BY created_at, id LIMIT 1
            """, logger: logger)
        var carrier: (type: String?, paymentIntent: String?, invoice: String?)?
        for try await (type, paymentIntent, invoice) in rows.decode((String?, String?, String?).self) {
            carrier = (type, paymentIntent, invoice)
        }
        return carrier
    }

    /// Inserts a webhook record with `source` = `backfill`.
    public static func insertBackfilledWebhook(_ record: WebhookRecord, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        let processedAt = Double(record.processedAtMs ?? 0) / 1000
        try await connection.query(
            """
            INSERT INTO stripe_webhook_events (event_id, type, stripe_payment_intent_id, stripe_invoice_id, processed_at,
              source)
            VALUES (\(record.eventId), \(record.type), \(record.stripePaymentIntentId), \(record.stripeInvoiceId),
              to_timestamp(\(processedAt)), 'backfill')
            """, logger: logger)
    }
}
