import Logging
import PostgresNIO

/// The billing tables read as one consistent snapshot, table by table through cursors (bootstrap).
///
/// Run inside one transaction: `begin` makes it a repeatable-read, read-only snapshot; each table is
/// `open`ed, `fetch`ed in chunks until a fetch returns no rows, and `close`d.
public enum BillingSnapshotRepository {
    /// The tables in the order bootstrap applies them, with the columns it decodes, in order.
    public enum Table: CaseIterable, Sendable {
        /// event_id, type, stripe_payment_intent_id, stripe_invoice_id, processed_at (ms), source.
        case webhooks
        /// id, role, tier, credits, unlimited_credits, stripe_customer_id, stripe_subscription_id,
        /// subscription_status, updated_at (ms), version.
        case users
        /// id, user_id, seq, type, amount, balance_after, stripe_event_id, stripe_payment_intent_id,
        /// stripe_invoice_id, reason, created_at (ms), and the user's updated_at (ms, for the grant exception).
        case ledger

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
                """
                SELECT t.id, t.user_id, t.seq, t.type, t.amount, t.balance_after, t.stripe_event_id,
                  t.stripe_payment_intent_id, t.stripe_invoice_id, t.reason, (extract(epoch from t.created_at) * 1000)::bigint,
                  (extract(epoch from u.updated_at) * 1000)::bigint
                FROM credit_transactions t LEFT JOIN users u ON u.id = t.user_id ORDER BY t.user_id, t.seq
                """
            }
        }
    }

    /// Makes the current transaction a repeatable-read, read-only snapshot; answers how many rows the
    /// three tables hold in it.
    public static func begin(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        try await connection.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", logger: logger)
        let totals = try await connection.query(
            """
            SELECT (SELECT count(*) FROM stripe_webhook_events) + (SELECT count(*) FROM users)
              + (SELECT count(*) FROM credit_transactions)
            """, logger: logger)
        for try await total in totals.decode(Int64.self) { return total }
        return 0
    }

    public static func open(_ table: Table, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            PostgresQuery(unsafeSQL: "DECLARE \(table.cursor) NO SCROLL CURSOR FOR \(table.select)"), logger: logger)
    }

    /// The next `count` rows of `table` (none once it is read through).
    public static func fetch(_ table: Table, count: Int, on connection: PostgresConnection, logger: Logger) async throws
        -> PostgresRowSequence
    {
        try await connection.query(PostgresQuery(unsafeSQL: "FETCH \(count) FROM \(table.cursor)"), logger: logger)
    }

    public static func close(_ table: Table, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(PostgresQuery(unsafeSQL: "CLOSE \(table.cursor)"), logger: logger)
    }
}
