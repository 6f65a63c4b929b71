import Logging
import Persistence
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
        guard let row = try await RepairRepository.lockUser(id: id, on: connection, logger: logger) else { return nil }
        return UserRow(
            id: id, role: Role(rawValue: row.role ?? "USER") ?? .user, tier: Tier(rawValue: row.tier ?? "FREE") ?? .free,
            credits: row.credits, unlimitedCredits: row.unlimitedCredits, stripeCustomerId: row.stripeCustomerId,
            stripeSubscriptionId: row.stripeSubscriptionId, subscriptionStatus: row.subscriptionStatus,
            version: row.version)
    }

    /// Writes tier, credits and the unlimited flag with the next version; returns the snapshot CDC will carry.
    mutating func save(nowMs: Int64, on connection: PostgresConnection, logger: Logger) async throws -> AccountSnapshot {
        version = try BillingDataProblem.checked(
            version.addingReportingOverflow(1), "the next version of users row \(id) after \(version)")
        try await RepairRepository.saveUser(
            id: id, tier: tier.rawValue, credits: credits, unlimitedCredits: unlimitedCredits, version: version,
            nowMs: nowMs, on: connection, logger: logger)
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
        guard let row = try await RepairRepository.lockLatestLedgerRow(userId: userId, on: connection, logger: logger)
        else { return nil }
        // A row without seq or balance_after cannot be built on: the repair fails with the reason.
        guard let seq = row.seq else {
            throw BillingDataProblem(detail: "credit_transactions row \(row.id ?? "?") of user \(userId) has a NULL seq")
        }
        guard let balance = row.balanceAfter else {
            throw BillingDataProblem(
                detail: "credit_transactions row \(row.id ?? "?") of user \(userId) has a NULL balance_after")
        }
        return LatestLedgerRow(seq: seq, balanceAfter: balance)
    }
}
