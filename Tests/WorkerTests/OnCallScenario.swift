import Foundation
import Shared
import TestSupport
import WorkerRuntime

/// Hand-made input records for the on-call tests (one user at a time, exact amounts).
struct OnCallScenario {
    let topics: Topics
    let t0: Int64

    func ledger(
        _ id: String, user: String = "u1", seq: Int64, _ type: LedgerType = .purchase, amount: Int64, balance: Int64,
        event: String? = nil, intent: String? = nil, invoice: String? = nil, atMs: Int64? = nil
    ) -> OutboundMessage {
        let row = LedgerRow(
            id: id, userId: user, seq: seq, type: type, amount: amount, balanceAfter: balance, stripeEventId: event,
            stripePaymentIntentId: intent ?? (type == .purchase ? "pi_\(id)" : nil),
            stripeInvoiceId: invoice ?? (type == .subscriptionGrant ? "in_\(id)" : nil), createdAtMs: atMs ?? t0)
        return OutboundMessage(topic: topics.ledger, key: Array(user.utf8), value: BillingJSON.ledger(row))
    }

    func account(
        user: String = "u1", tier: Tier = .free, credits: Int64, customer: String? = "cus_1",
        status: String? = nil, version: Int64, atMs: Int64? = nil
    ) -> OutboundMessage {
        let snapshot = AccountSnapshot(
            userId: user, role: .user, tier: tier, credits: credits, unlimitedCredits: false,
            stripeCustomerId: customer, stripeSubscriptionId: nil, subscriptionStatus: status,
            updatedAtMs: atMs ?? t0 + version, version: version)
        return OutboundMessage(topic: topics.accounts, key: Array(user.utf8), value: BillingJSON.account(snapshot))
    }

    func webhook(_ eventId: String, atMs: Int64? = nil) -> OutboundMessage {
        OutboundMessage(
            topic: topics.webhooks, key: Array(eventId.utf8),
            value: BillingJSON.webhook(WebhookRecord(eventId: eventId, type: "invoice.paid", processedAtMs: atMs ?? t0)))
    }

    func gate(_ feature: String, _ tiers: Set<Tier>) -> OutboundMessage {
        OutboundMessage(
            topic: topics.planGates, key: Array(feature.utf8),
            value: BillingJSON.gate(PlanGate(feature: feature, allowedTiers: tiers, updatedAtMs: t0)))
    }
}

extension DatabaseDriver {
    var scenario: OnCallScenario { OnCallScenario(topics: settings.topics, t0: clock.now - 60_000) }

    /// A balance mismatch of `credits − 1000` on user `user` (ledger balance 1000).
    func openBalanceMismatch(user: String = "u1", credits: Int64 = 1100) async throws -> String {
        try await consume([
            scenario.ledger("\(user)_r1", user: user, seq: 1, amount: 1000, balance: 1000),
            scenario.account(user: user, credits: credits, version: 1),
        ])
        try await settle()
        return "credit-balance:\(user)"
    }

    /// `input-stalled:accounts`: a ledger row waits on accounts, which deliver nothing for the stall time.
    func openAccountsStall() async throws -> String {
        try await consume(
            [scenario.ledger("stall_r1", user: "u_stall", seq: 1, .adjustment, amount: 0, balance: 0)],
            inputsFlowing: false)
        clock.advance(by: settings.stallMs + 1)
        _ = try await sweeper.sweepOnce()
        return "input-stalled:accounts"
    }

    /// Every event of an issue, in version order.
    func history(_ issueId: String) async throws -> [IssueEvent] {
        try await database.client.withConnection { connection in
            try await IssueRepository.history(issueId: issueId, on: connection, logger: env.logger)
        }
    }

    func report() async throws -> AssuranceReport {
        try await ReportQuery(client: database.client, settings: settings, logger: env.logger).report(nowMs: clock.now)
    }
}

import Persistence
