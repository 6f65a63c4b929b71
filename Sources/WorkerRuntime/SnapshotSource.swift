import Foundation
import Persistence
import PostgresNIO
import Shared

/// The three billing tables bootstrap reads, in the order it applies them, with how their rows decode.
enum SnapshotSource: CaseIterable {
    case webhooks, users, ledger

    /// The table this source reads.
    var table: BillingSnapshotRepository.Table {
        switch self {
        case .webhooks: .webhooks
        case .users: .users
        case .ledger: .ledger
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
