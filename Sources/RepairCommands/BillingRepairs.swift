import Logging
import Persistence
import PostgresNIO
import Shared

/// The four narrow repairs: each re-reads and locks the billing rows it changes, rejects as `stale`
/// when they no longer show what the issue saw, and otherwise changes them with its audit row.
enum BillingRepairs {
    struct Context: Sendable {
        var command: RepairCommand
        var issue: IssueEvent
        var nowMs: Int64
        var logger: Logger

        var auditId: String { "ctx_audit_" + command.commandId }
        /// Who the audit rows name.
        var actor: RepairRepository.Actor {
            RepairRepository.Actor(reason: command.reason, actorId: command.actor.id, commandId: command.commandId)
        }
        var userId: String { issue.userId ?? String(issue.issueId.split(separator: ":", maxSplits: 1).last ?? "") }
    }

    typealias Outcome = Result<RepairPlan, CommandVerifier.Rejection>

    static func run(_ action: RepairAction, context: Context, apply: Bool, on connection: PostgresConnection)
        async throws -> Outcome
    {
        do {
            switch action {
            case .syncBalance: return try await syncBalance(context, apply: apply, on: connection)
            case .downgradeToFree: return try await downgradeToFree(context, apply: apply, on: connection)
            case .disableUnlimitedCredits: return try await disableUnlimitedCredits(context, apply: apply, on: connection)
            case .backfillWebhookRecord: return try await backfillWebhookRecord(context, apply: apply, on: connection)
            }
        } catch let problem as BillingDataProblem {
            return .failure(.init(.failed, problem.detail))
        }
    }

    static func stale(_ detail: String) -> Outcome { .failure(.init(.stale, detail)) }

    // MARK: sync_balance

    static func syncBalance(_ c: Context, apply: Bool, on connection: PostgresConnection) async throws -> Outcome {
        guard var user = try await UserRow.lock(id: c.userId, on: connection, logger: c.logger) else {
            return stale("user \(c.userId) is not in the users table")
        }
        guard let latest = try await LatestLedgerRow.lock(userId: c.userId, on: connection, logger: c.logger) else {
            return stale("user \(c.userId) has no ledger rows")
        }
        let seenBalance = c.issue.evidence["balance"]?.intValue
        let seenLedger = c.issue.evidence["ledgerBalanceAfter"]?.intValue
        let seenSeq = c.issue.evidence["ledgerSeq"]?.intValue
        guard seenBalance == user.credits, seenLedger == latest.balanceAfter, seenSeq == nil || seenSeq == latest.seq
        else {
            return stale(
                "database shows balance \(user.credits) and ledger balance \(latest.balanceAfter) at seq \(latest.seq); "
                    + "the issue saw \(seenBalance.map(String.init) ?? "?") and \(seenLedger.map(String.init) ?? "?"): "
                    + "wait for the issue to update, then retry")
        }
        let delta = try BillingDataProblem.checked(
            latest.balanceAfter.subtractingReportingOverflow(user.credits),
            "the balance change \(latest.balanceAfter) - \(user.credits)")
        let nextSeq = try BillingDataProblem.checked(
            latest.seq.addingReportingOverflow(1), "the next seq after \(latest.seq)")
        let plan: JSONValue = [
            "table": "users", "userId": .string(c.userId), "credits": ["from": .int(user.credits), "to": .int(latest.balanceAfter)],
            "audit": ["table": "credit_transactions", "type": "AUDIT", "amount": .int(delta), "balanceAfter": .int(latest.balanceAfter), "seq": .int(nextSeq)],
        ]
        let audit = LedgerRow(
            id: c.auditId, userId: c.userId, seq: nextSeq, type: .audit, amount: delta,
            balanceAfter: latest.balanceAfter, reason: c.command.reason, createdAtMs: c.nowMs)
        user.credits = latest.balanceAfter
        guard apply else { return .success(RepairPlan(action: .syncBalance, plan: plan, audit: [], records: [])) }
        try await insertAudit(audit, context: c, on: connection)
        let snapshot = try await user.save(nowMs: c.nowMs, on: connection, logger: c.logger)
        return .success(
            RepairPlan(
                action: .syncBalance, plan: plan, audit: [AuditReference(table: "credit_transactions", id: audit.id)],
                records: [.ledger(audit), .account(snapshot)]))
    }

    // MARK: downgrade_to_free

    static func downgradeToFree(_ c: Context, apply: Bool, on connection: PostgresConnection) async throws -> Outcome {
        guard var user = try await UserRow.lock(id: c.userId, on: connection, logger: c.logger) else {
            return stale("user \(c.userId) is not in the users table")
        }
        guard user.tier.isPaid, user.stripeCustomerId == nil else {
            return stale("user \(c.userId) is now \(user.tier.rawValue) with customer \(user.stripeCustomerId ?? "none")")
        }
        let from = user.tier
        let plan: JSONValue = [
            "table": "users", "userId": .string(c.userId), "tier": ["from": .string(from.rawValue), "to": "FREE"],
            "audit": ["table": "subscription_audit", "fromTier": .string(from.rawValue), "toTier": "FREE"],
        ]
        guard apply else { return .success(RepairPlan(action: .downgradeToFree, plan: plan, audit: [], records: [])) }
        user.tier = .free
        let auditId = "sa_" + c.command.commandId
        try await RepairRepository.insertTierAudit(
            id: auditId, userId: c.userId, fromTier: from.rawValue, toTier: Tier.free.rawValue, by: c.actor,
            atMs: c.nowMs, on: connection, logger: c.logger)
        let snapshot = try await user.save(nowMs: c.nowMs, on: connection, logger: c.logger)
        return .success(
            RepairPlan(
                action: .downgradeToFree, plan: plan, audit: [AuditReference(table: "subscription_audit", id: auditId)],
                records: [.account(snapshot)]))
    }

    // MARK: disable_unlimited_credits

    static func disableUnlimitedCredits(_ c: Context, apply: Bool, on connection: PostgresConnection) async throws
        -> Outcome
    {
        guard var user = try await UserRow.lock(id: c.userId, on: connection, logger: c.logger) else {
            return stale("user \(c.userId) is not in the users table")
        }
        guard user.unlimitedCredits, user.role == .user else {
            return stale("user \(c.userId) now has unlimitedCredits=\(user.unlimitedCredits), role \(user.role.rawValue)")
        }
        let latest = try await LatestLedgerRow.lock(userId: c.userId, on: connection, logger: c.logger)
        let seq = try BillingDataProblem.checked(
            (latest?.seq ?? 0).addingReportingOverflow(1), "the next seq after \(latest?.seq ?? 0)")
        let balance = latest?.balanceAfter ?? user.credits
        let plan: JSONValue = [
            "table": "users", "userId": .string(c.userId), "unlimitedCredits": ["from": true, "to": false],
            "audit": ["table": "credit_transactions", "type": "AUDIT", "amount": 0, "balanceAfter": .int(balance), "seq": .int(seq)],
        ]
        guard apply else {
            return .success(RepairPlan(action: .disableUnlimitedCredits, plan: plan, audit: [], records: []))
        }
        let audit = LedgerRow(
            id: c.auditId, userId: c.userId, seq: seq, type: .audit, amount: 0, balanceAfter: balance,
            reason: c.command.reason, createdAtMs: c.nowMs)
        try await insertAudit(audit, context: c, on: connection)
        user.unlimitedCredits = false
        let snapshot = try await user.save(nowMs: c.nowMs, on: connection, logger: c.logger)
        return .success(
            RepairPlan(
                action: .disableUnlimitedCredits, plan: plan,
                audit: [AuditReference(table: "credit_transactions", id: audit.id)],
                records: [.ledger(audit), .account(snapshot)]))
    }

    // MARK: backfill_webhook_record

    // The inserted row is its own audit row (`source` = `backfill`); the contract's table has no
    // command, actor or reason columns, so those live in `assurance.processed_commands` beside the result.

    static func backfillWebhookRecord(_ c: Context, apply: Bool, on connection: PostgresConnection) async throws
        -> Outcome
    {
        let eventId = String(c.issue.issueId.split(separator: ":", maxSplits: 1).last ?? "")
        try await RepairRepository.lock("webhook:" + eventId, on: connection, logger: c.logger)
        if try await RepairRepository.webhookExists(eventId: eventId, on: connection, logger: c.logger) {
            return stale("stripe_webhook_events already has \(eventId)")
        }
        let carrier = try await RepairRepository.webhookCarrier(eventId: eventId, on: connection, logger: c.logger)
        guard let carrier else { return stale("no credit_transactions row carries stripe_event_id \(eventId)") }
        let type: String? =
            switch carrier.type {
            case LedgerType.purchase.rawValue: "payment_intent.succeeded"
            case LedgerType.subscriptionGrant.rawValue: "invoice.paid"
            default: nil
            }
        let plan: JSONValue = [
            "table": "stripe_webhook_events", "eventId": .string(eventId), "type": .optional(type),
            "stripePaymentIntentId": .optional(carrier.paymentIntent), "stripeInvoiceId": .optional(carrier.invoice),
            "source": "backfill",
        ]
        guard apply else {
            return .success(RepairPlan(action: .backfillWebhookRecord, plan: plan, audit: [], records: []))
        }
        let record = WebhookRecord(
            eventId: eventId, type: type, stripePaymentIntentId: carrier.paymentIntent,
            stripeInvoiceId: carrier.invoice, processedAtMs: c.nowMs, source: "backfill")
        try await RepairRepository.insertBackfilledWebhook(record, on: connection, logger: c.logger)
        return .success(
            RepairPlan(
                action: .backfillWebhookRecord, plan: plan,
                audit: [AuditReference(table: "stripe_webhook_events", id: eventId)], records: [.webhook(record)]))
    }

    static func insertAudit(_ row: LedgerRow, context c: Context, on connection: PostgresConnection) async throws {
        try await RepairRepository.insertLedgerAudit(row, by: c.actor, on: connection, logger: c.logger)
    }
}

/// Malformed data in the billing tables that a repair reads: a NULL where a value is needed, or
/// arithmetic that would leave the signed 64-bit range. The command is answered `failed` with the
/// detail; nothing traps and nothing is retried.
struct BillingDataProblem: Error, CustomStringConvertible {
    var detail: String
    var description: String { detail }

    /// The value of an overflow-reporting operation, or a problem naming `what` overflowed.
    static func checked(_ result: (partialValue: Int64, overflow: Bool), _ what: @autoclosure () -> String) throws
        -> Int64
    {
        guard !result.overflow else {
            throw BillingDataProblem(detail: "\(what()) leaves the signed 64-bit range; correct the billing rows first")
        }
        return result.partialValue
    }
}
