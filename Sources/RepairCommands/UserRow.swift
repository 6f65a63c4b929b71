import Logging
import PostgresNIO
import Shared

/// One `users` row, read and locked for a repair.
struct UserRow: Sendable {
    var id: String
    var role: Role
    var tier: Tier
    var credits: Int64
    var unlimitedCredits: Bool
    var stripeCustomerId: String?
    var stripeSubscriptionId: String?
    var subscriptionStatus: String?
    var version: Int64

    static func lock(id: String, on connection: PostgresConnection, logger: Logger) async throws -> UserRow? {
        let rows = try await connection.query(
            """
            SELECT role, tier, coalesce(credits, 0), coalesce(unlimited_credits, false), stripe_customer_id,
              stripe_subscription_id, subscription_status, coalesce(version, 0)
            FROM users WHERE id = \(id) FOR UPDATE
            """, logger: logger)
        for try await (role, tier, credits, unlimited, customer, subscription, status, version) in rows.decode(
            (String?, String?, Int64, Bool, String?, String?, String?, Int64).self)
        {
            return UserRow(
                id: id, role: Role(rawValue: role ?? "USER") ?? .user, tier: Tier(rawValue: tier ?? "FREE") ?? .free,
                credits: credits, unlimitedCredits: unlimited, stripeCustomerId: customer,
                stripeSubscriptionId: subscription, subscriptionStatus: status, version: version)
        }
        return nil
    }

    /// Writes tier, credits and the unlimited flag with the next version; returns the snapshot CDC will carry.
    mutating func save(nowMs: Int64, on connection: PostgresConnection, logger: Logger) async throws -> AccountSnapshot {
        version += 1
        try await connection.query(
            """
            UPDATE users SET tier = \(tier.rawValue), credits = \(credits), unlimited_credits = \(unlimitedCredits),
              version = \(version), updated_at = to_timestamp(\(Double(nowMs) / 1000))
            WHERE id = \(id)
            """, logger: logger)
        return AccountSnapshot(
            userId: id, role: role, tier: tier, credits: credits, unlimitedCredits: unlimitedCredits,
            stripeCustomerId: stripeCustomerId, stripeSubscriptionId: stripeSubscriptionId,
            subscriptionStatus: subscriptionStatus, updatedAtMs: nowMs, version: version)
    }
}

/// The newest ledger row of a user, locked so no row slips in between reading it and writing the audit row.
struct LatestLedgerRow: Sendable {
    var seq: Int64
    var balanceAfter: Int64

    static func lock(userId: String, on connection: PostgresConnection, logger: Logger) async throws -> LatestLedgerRow? {
        let rows = try await connection.query(
            """
            SELECT seq, balance_after FROM credit_transactions WHERE user_id = \(userId)
            ORDER BY seq DESC LIMIT 1 FOR UPDATE
            """, logger: logger)
        for try await (seq, balance) in rows.decode((Int64, Int64).self) {
            return LatestLedgerRow(seq: seq, balanceAfter: balance)
        }
        return nil
    }
}
