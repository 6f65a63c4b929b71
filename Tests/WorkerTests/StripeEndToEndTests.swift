import Foundation
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The Stripe checks through the mock cluster and PostgreSQL: Stripe-shaped JSON in, the contract's
/// issues out; the report, replay readiness and the recorded events; fixes heal, replays change nothing.
@Suite(.serialized) struct StripeEndToEndTests {
    static func stripe(_ event: StripeEvent, topics: Topics) -> OutboundMessage {
        OutboundMessage(topic: topics.stripe, key: Array(event.customerId.utf8), value: BillingJSON.stripe(event))
    }

    static func account(_ snapshot: AccountSnapshot, topics: Topics) -> OutboundMessage {
        OutboundMessage(topic: topics.accounts, key: Array(snapshot.userId.utf8), value: BillingJSON.account(snapshot))
    }

    @Test func eachStripeCheckFires_showsInTheReportAndReplayReadiness_andHealsWhenFixed() async throws {
        let env = try await WorkerTestEnvironment.make()
        let topics = env.topics
        let now = WallClock.nowMs() / 1000 * 1000
        @Sendable func snapshot(_ user: String, _ tier: Tier, _ customer: String, version: Int64 = 1) -> AccountSnapshot {
            AccountSnapshot(
                userId: user, tier: tier, credits: 0, stripeCustomerId: customer,
                subscriptionStatus: tier.isPaid ? "active" : nil, updatedAtMs: now - 5000, version: version)
        }
        @Sendable func sub(_ id: String, _ customer: String, _ type: StripeEvent.Kind, _ status: String, ago: Int64) -> StripeEvent {
            StripeEvent(id: id, type: type, createdMs: now - ago * 1000, customerId: customer, objectId: "sub_" + customer, status: status)
        }
        let invoice = StripeEvent(
            id: "evt_inv", type: .invoicePaid, createdMs: now - 3000, customerId: "cus_c", objectId: "in_c",
            subscriptionId: "sub_cus_c", billingReason: "subscription_create", amountPaid: 4900, currency: "eur")
        let messages = [
            Self.account(snapshot("u_free", .free, "cus_a"), topics: topics),
            Self.stripe(sub("evt_a1", "cus_a", .subscriptionCreated, "active", ago: 10), topics: topics),
            Self.account(snapshot("u_pro", .pro, "cus_b"), topics: topics),
            // Out of order: the cancellation before the older creation.
            Self.stripe(sub("evt_b2", "cus_b", .subscriptionDeleted, "active", ago: 5), topics: topics),
            Self.stripe(sub("evt_b1", "cus_b", .subscriptionCreated, "active", ago: 10), topics: topics),
            Self.account(snapshot("u_inv", .pro, "cus_c"), topics: topics),
            Self.stripe(sub("evt_c1", "cus_c", .subscriptionCreated, "active", ago: 10), topics: topics),
            Self.stripe(invoice, topics: topics),
            // A customer nobody names.
            Self.stripe(sub("evt_d1", "cus_d", .subscriptionCreated, "active", ago: 10), topics: topics),
            // A type the checks do not read.
            OutboundMessage(
                topic: topics.stripe, key: Array("cus_a".utf8),
                value: Array(#"{"id":"evt_ch","object":"event","type":"charge.succeeded","created":1,"data":{"object":{"id":"ch_1"}}}"#.utf8)),
        ]
        let expected: [String: CheckKind] = [
            "stripe-paid-local-free:u_free": .stripePaidLocalFree,
            "stripe-inactive-local-paid:u_pro": .localPaidStripeInactive,
            "invoice-without-grant:in_c": .paidInvoiceWithoutGrant,
        ]
        try await env.withCollector { collector in
            try await WorkerFleet.with(configuration: env.nodeConfiguration(), count: 1, logger: env.logger) { fleet in
                await fleet.start(0)
                try await env.publish(messages)
                let opened = await collector.wait(timeout: .seconds(60)) { collector in
                    let latest = collector.latestIssues(topic: topics.issues)
                    return expected.keys.allSatisfy { latest[$0]?.status == .open }
                }
                #expect(opened)
                let latest = collector.latestIssues(topic: topics.issues)
                #expect(Set(latest.keys) == Set(expected.keys), "\(latest.keys.sorted())")
                for (id, check) in expected {
                    #expect(latest[id]?.check == check)
                    #expect(latest[id]?.category == .entitlementDrift)
                    #expect(latest[id]?.severity == (check == .stripePaidLocalFree ? .critical : .error))
                    #expect(latest[id]?.revenueImpacting == true)
                    #expect(latest[id]?.repair == nil)
                }
                #expect(latest["invoice-without-grant:in_c"]?.userId == "u_inv")
                #expect(latest["invoice-without-grant:in_c"]?.evidence["amountPaid"] == 4900)
                #expect(latest["invoice-without-grant:in_c"]?.evidence["currency"] == "eur")

                try await WorkerProbe.waitForConsumption(env, count: messages.count)
                try await env.withDatabase { database in
                    let query = ReportQuery(client: database.client, settings: env.settings(), logger: env.logger)
                    let report = try await query.report()
                    #expect(report.summary.unmappedStripeCustomers == 1)
                    let user = try await query.replayReadiness(eventId: nil, paymentIntentId: nil, invoiceId: nil, userId: "u_inv")
                    #expect(!user.ready)
                    #expect(user.blockers.map(\.issueId) == ["invoice-without-grant:in_c"])
                    let free = try await query.replayReadiness(eventId: nil, paymentIntentId: nil, invoiceId: nil, userId: "u_free")
                    #expect(free.blockers.map(\.issueId) == ["stripe-paid-local-free:u_free"])
                    let byInvoice = try await query.replayReadiness(eventId: nil, paymentIntentId: nil, invoiceId: "in_c", userId: nil)
                    #expect(byInvoice.blockers.map(\.issueId) == ["invoice-without-grant:in_c"])
                    let recorded = try await database.client.withConnection { connection in
                        try await StripeEventRepository.events(ofCustomer: "cus_b", limit: 10, on: connection, logger: env.logger)
                    }
                    #expect(recorded.map(\.id) == ["evt_b1", "evt_b2"])
                    #expect(recorded.last?.status == "canceled")
                }

                // Fixes: the tier follows Stripe, the subscription resumes, the grant arrives (on another user).
                let fixes = [
                    Self.account(snapshot("u_free", .pro, "cus_a", version: 2), topics: topics),
                    Self.stripe(sub("evt_b3", "cus_b", .subscriptionResumed, "active", ago: 1), topics: topics),
                    OutboundMessage(
                        topic: topics.ledger, key: Array("u_other".utf8),
                        value: BillingJSON.ledger(
                            LedgerRow(
                                id: "grant_c", userId: "u_other", seq: 1, type: .subscriptionGrant, amount: 1000,
                                balanceAfter: 1000, stripeInvoiceId: "in_c", createdAtMs: now - 1000))),
                ]
                try await env.publish(fixes)
                let healed = await collector.wait(timeout: .seconds(60)) { collector in
                    let latest = collector.latestIssues(topic: topics.issues)
                    return expected.keys.allSatisfy { latest[$0]?.status == .resolved }
                }
                #expect(healed)
                for id in expected.keys { #expect(collector.latestIssues(topic: topics.issues)[id]?.resolution == .selfHealed) }

                // Everything again: nothing changes.
                try await WorkerProbe.waitForConsumption(env, count: messages.count + fixes.count)
                try await WorkerProbe.waitForEmptyOutbox(env)
                let events = collector.messages(on: topics.issues).count
                let state = try await WorkerProbe.entityStateDigest(env)
                try await env.publish(messages + fixes)
                try await WorkerProbe.waitForConsumption(env, count: 2 * (messages.count + fixes.count))
                try await WorkerProbe.waitForEmptyOutbox(env)
                #expect(collector.messages(on: topics.issues).count == events)
                #expect(try await WorkerProbe.entityStateDigest(env) == state)
            }
        }
    }
}
