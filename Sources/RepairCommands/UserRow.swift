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
        version = try BillingDataProblem.checked(
            version.addingReportingOverflow(1), "the next version of users row \(id) after \(version)")
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
            SELECT id, seq, balance_after FROM credit_transactions WHERE user_id = \(userId)
            ORDER BY seq DESC NULLS FIRST LIMIT 1 FOR UPDATE
            """, logger: logger)
        // A row without seq or balance_after cannot be built on: the repair fails with the reason.
        for try await (id, seq, balance) in rows.decode((String?, Int64?, Int64?).self) {
            guard let seq else {
                throw BillingDataProblem(detail: "credit_transactions row \(id ?? "?") of user \(userId) has a NULL seq")
            }
            guard let balance else {
                throw BillingDataProblem(
                    detail: "credit_transactions row \(id ?? "?") of user \(userId) has a NULL balance_after")
            }
            return LatestLedgerRow(seq: seq, balanceAfter: balance)
        }
        return nil
    }
}
