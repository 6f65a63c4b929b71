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
    ///
    /// Cells are decoded one at a time with their concrete types: the tuple form of
    /// `PostgresRow.decode` looks up generic tuple metadata for every row, which was the largest
    /// cost of a bootstrap.
    func decode(_ result: PostgresRowSequence, settleMs: Int64) async throws -> (rows: [SnapshotRow], read: Int) {
        var rows: [SnapshotRow] = []
        var read = 0
        switch self {
        case .webhooks:
            for try await row in result {
                read += 1
                var cells = SnapshotCells(row)
                let record = WebhookRecord(
                    eventId: try cells.next(String.self), type: try cells.next(String?.self),
                    stripePaymentIntentId: try cells.next(String?.self), stripeInvoiceId: try cells.next(String?.self),
                    processedAtMs: try cells.next(Int64?.self), source: try cells.next(String.self))
                rows.append(SnapshotRow(record: .webhook(record), table: .stripeWebhookEvents))
            }
        case .users:
            for try await row in result {
                read += 1
                var cells = SnapshotCells(row)
                let id = try cells.next(String.self)
                let role = try cells.next(String?.self)
                let tier = try cells.next(String?.self)
                let credits = try cells.next(Int64.self)
                let unlimited = try cells.next(Bool.self)
                let customer = try cells.next(String?.self)
                let subscription = try cells.next(String?.self)
                let status = try cells.next(String?.self)
                guard let updated = try cells.next(Int64?.self) else { continue }
                let version = try cells.next(Int64?.self)
                let snapshot = AccountSnapshot(
                    userId: id, role: Role(rawValue: role ?? "USER") ?? .user,
                    tier: Tier(rawValue: tier ?? "FREE") ?? .free, credits: credits, unlimitedCredits: unlimited,
                    stripeCustomerId: customer, stripeSubscriptionId: subscription, subscriptionStatus: status,
                    updatedAtMs: updated, version: version)
                rows.append(SnapshotRow(record: .account(snapshot), table: .users))
            }
        case .ledger:
            for try await row in result {
                read += 1
                var cells = SnapshotCells(row)
                let id = try cells.next(String.self)
                let user = try cells.next(String?.self)
                let seq = try cells.next(Int64?.self)
                let type = try cells.next(String?.self)
                let amount = try cells.next(Int64?.self)
                let balance = try cells.next(Int64?.self)
                let event = try cells.next(String?.self)
                let intent = try cells.next(String?.self)
                let invoice = try cells.next(String?.self)
                let reason = try cells.next(String?.self)
                let created = try cells.next(Int64?.self)
                let updated = try cells.next(Int64?.self)
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

/// The cells of one snapshot row, read in column order.
struct SnapshotCells {
    struct MissingColumn: Error, CustomStringConvertible {
        var description: String { "a bootstrap query returned fewer columns than it selects" }
    }

    var iterator: PostgresRow.Iterator

    init(_ row: PostgresRow) { iterator = row.makeIterator() }

    mutating func next<T: PostgresDecodable>(_: T.Type) throws -> T {
        guard let cell = iterator.next() else { throw MissingColumn() }
        return try cell.decode(T.self)
    }
}
