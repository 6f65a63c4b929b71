import Foundation
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Every check of the contract through the mock cluster and a real PostgreSQL, and back out on the issues topic.
@Suite(.serialized) struct EndToEndCheckTests {
    static func traffic() -> BillingTraffic {
        BillingTraffic.generate(.init(users: 120, eventsPerUser: 12, seed: 7, endMs: WallClock.nowMs(), faultEvery: 11))
    }

    @Test func everyCheckOpensItsIssueWithTheContractsFieldsAndSelfHealingOnesResolveWhenFixed() async throws {
        try await Self.everyCheckScenario(try await WorkerTestEnvironment.make())
    }

    /// Every check opens its issue with the contract's fields, and the self-healing ones resolve when
    /// fixed; shared with the real-broker suite.
    static func everyCheckScenario(_ env: WorkerTestEnvironment) async throws {
        let traffic = Self.traffic()
        let expected = traffic.expectedIssueIds
        #expect(Set(expected.compactMap(CheckKind.of(issueId:))) == Set(CheckKind.allCases).subtracting([.inputStalled]))
        try await env.withCollector { collector in
            try await WorkerFleet.with(configuration: env.nodeConfiguration(), count: 1, logger: env.logger) { fleet in
                await fleet.start(0)
                try await env.publish(traffic.messages(topics: env.topics))
                let opened = await collector.wait(timeout: .seconds(90)) { collector in
                    let open = collector.latestIssues(topic: env.topics.issues).values.filter { $0.status == .open }
                    return expected.isSubset(of: Set(open.map(\.issueId)))
                }
                let latest = collector.latestIssues(topic: env.topics.issues)
                let open = Set(latest.values.filter { $0.status == .open }.map(\.issueId))
                #expect(opened, "missing: \(expected.subtracting(open).sorted())")
                #expect(open == expected, "unexpected: \(open.subtracting(expected).sorted())")
                for id in expected {
                    guard let event = latest[id], let check = CheckKind.of(issueId: id) else { continue }
                    #expect(event.check == check)
                    #expect(event.category == check.category)
                    #expect(event.severity == check.severity)
                    #expect(event.revenueImpacting == check.revenueImpacting)
                    #expect(event.repair?.action == check.repairAction)
                    #expect(!event.title.isEmpty)
                }

                let fixes = Fixes(traffic: traffic, topics: env.topics)
                try await env.publish(fixes.messages)
                let healed = await collector.wait(timeout: .seconds(60)) { collector in
                    let latest = collector.latestIssues(topic: env.topics.issues)
                    return fixes.healedIssueIds.allSatisfy { latest[$0]?.status == .resolved }
                }
                let after = collector.latestIssues(topic: env.topics.issues)
                #expect(healed, "still open: \(fixes.healedIssueIds.filter { after[$0]?.status != .resolved }.sorted())")
                for id in fixes.healedIssueIds {
                    #expect(after[id]?.resolution == .selfHealed)
                    #expect(after[id]?.resolvedAt != nil)
                }
                let stillOpen = Set(after.values.filter { $0.status == .open }.map(\.issueId))
                #expect(stillOpen == expected.subtracting(fixes.healedIssueIds))
            }
        }
    }

    @Test func publishingTheWholeInputAgainChangesNothing() async throws {
        let env = try await WorkerTestEnvironment.make()
        let traffic = Self.traffic()
        let messages = traffic.messages(topics: env.topics)
        try await env.withCollector { collector in
            try await WorkerFleet.with(configuration: env.nodeConfiguration(), count: 1, logger: env.logger) { fleet in
                await fleet.start(0)
                try await env.publish(messages)
                try await WorkerProbe.waitForConsumption(env, count: messages.count)
                _ = await collector.wait(timeout: .seconds(60)) { collector in
                    let open = collector.latestIssues(topic: env.topics.issues).values.filter { $0.status == .open }
                    return traffic.expectedIssueIds.isSubset(of: Set(open.map(\.issueId)))
                }
                try await WorkerProbe.waitForEmptyOutbox(env)
                let firstEvents = collector.messages(on: env.topics.issues).count
                let firstCounts = try await WorkerProbe.appliedByTopic(env)
                let firstState = try await WorkerProbe.entityStateDigest(env)

                try await env.publish(messages)
                try await WorkerProbe.waitForConsumption(env, count: 2 * messages.count)
                try await WorkerProbe.waitForEmptyOutbox(env)
                #expect(collector.messages(on: env.topics.issues).count == firstEvents)
                #expect(try await WorkerProbe.appliedByTopic(env) == firstCounts)
                #expect(try await WorkerProbe.entityStateDigest(env) == firstState)
                #expect(firstCounts[env.topics.ledger] == Int64(traffic.ledger.count))
            }
        }
    }
}

/// Input that removes the cause of every self-healing issue the generated traffic injected.
struct Fixes {
    var messages: [OutboundMessage] = []
    var healedIssueIds: Set<String> = []

    init(traffic: BillingTraffic, topics: Topics) {
        let end = WallClock.nowMs()
        func snapshot(_ userId: String) -> AccountSnapshot? { traffic.users.first { $0.userId == userId } }
        func publish(_ account: AccountSnapshot) {
            var fixed = account
            fixed.version = (account.version ?? 0) + 10
            fixed.updatedAtMs = max(account.updatedAtMs + 1, end - 10_000)
            messages.append(OutboundMessage(topic: topics.accounts, key: Array(fixed.userId.utf8), value: BillingJSON.account(fixed)))
        }
        for id in traffic.expectedIssueIds.sorted() {
            guard let check = CheckKind.of(issueId: id) else { continue }
            let parts = id.split(separator: ":").map(String.init)
            switch check {
            case .creditBalanceMismatch:
                let userId = parts[1]
                guard var account = snapshot(userId),
                    let last = traffic.ledger.filter({ $0.userId == userId }).max(by: { $0.seq < $1.seq })
                else { continue }
                account.credits = last.balanceAfter
                publish(account)
            case .ledgerSequenceGap:
                let userId = parts[1]
                let missing = Int64(parts[2])!
                guard let previous = traffic.ledger.first(where: { $0.userId == userId && $0.seq == missing - 1 }) else { continue }
                let row = LedgerRow(
                    id: "fix_gap_\(userId)", userId: userId, seq: missing, type: .adjustment, amount: 0,
                    balanceAfter: previous.balanceAfter, createdAtMs: previous.createdAtMs + 1)
                messages.append(OutboundMessage(topic: topics.ledger, key: Array(userId.utf8), value: BillingJSON.ledger(row)))
            case .paidTierWithoutCustomer:
                guard var account = snapshot(parts[1]) else { continue }
                account.stripeCustomerId = "cus_fixed_\(account.userId)"
                account.subscriptionStatus = "active"
                publish(account)
            case .nonAdminUnlimitedCredits:
                guard var account = snapshot(parts[1]) else { continue }
                account.unlimitedCredits = false
                publish(account)
            case .tierSubscriptionMismatch:
                guard var account = snapshot(parts[1]) else { continue }
                account.subscriptionStatus = "active"
                publish(account)
            case .missingIdempotencyRecord:
                let record = WebhookRecord(eventId: parts[1], type: "payment_intent.succeeded", processedAtMs: end - 1000)
                messages.append(OutboundMessage(topic: topics.webhooks, key: Array(record.eventId.utf8), value: BillingJSON.webhook(record)))
            case .planGateRegression:
                let gate = PlanGate(feature: parts[1], allowedTiers: PlanPolicy.builtIn.expectedTiers(for: parts[1]) ?? [], updatedAtMs: end)
                messages.append(OutboundMessage(topic: topics.planGates, key: Array(gate.feature.utf8), value: BillingJSON.gate(gate)))
            case .stalePaidSubscription:
                let userId = parts[1]
                let grant = LedgerRow(
                    id: "fix_stale_\(userId)", userId: userId, seq: 1, type: .subscriptionGrant, amount: 1000,
                    balanceAfter: 1000, stripeEventId: "evt_fix_stale", stripeInvoiceId: "in_fix_stale", createdAtMs: end - 5000)
                messages.append(OutboundMessage(topic: topics.ledger, key: Array(userId.utf8), value: BillingJSON.ledger(grant)))
                let webhook = WebhookRecord(eventId: "evt_fix_stale", type: "invoice.paid", stripeInvoiceId: "in_fix_stale", processedAtMs: end - 4000)
                messages.append(OutboundMessage(topic: topics.webhooks, key: Array(webhook.eventId.utf8), value: BillingJSON.webhook(webhook)))
                guard var account = snapshot(userId) else { continue }
                account.credits = 1000
                publish(account)
            case .stripePaidLocalFree:
                guard var account = snapshot(parts[1]) else { continue }
                account.tier = .pro
                account.subscriptionStatus = "active"
                publish(account)
            case .localPaidStripeInactive:
                guard let customer = snapshot(parts[1])?.stripeCustomerId else { continue }
                let resumed = StripeEvent(
                    id: "evt_fix_resume_\(customer)", type: .subscriptionResumed, createdMs: end / 1000 * 1000,
                    customerId: customer, objectId: "sub_\(customer)", status: "active")
                messages.append(OutboundMessage(topic: topics.stripe, key: Array(customer.utf8), value: BillingJSON.stripe(resumed)))
            case .paidInvoiceWithoutGrant:
                guard let event = traffic.stripe.first(where: { $0.objectId == parts[1] }),
                    var account = traffic.users.first(where: { $0.stripeCustomerId == event.customerId })
                else { continue }
                let grant = LedgerRow(
                    id: "fix_grant_\(parts[1])", userId: account.userId, seq: 1, type: .subscriptionGrant, amount: 1000,
                    balanceAfter: 1000, stripeInvoiceId: parts[1], createdAtMs: end - 5000)
                messages.append(OutboundMessage(topic: topics.ledger, key: Array(account.userId.utf8), value: BillingJSON.ledger(grant)))
                account.credits = 1000
                publish(account)
            default:
                continue
            }
            healedIssueIds.insert(id)
        }
    }
}

/// Unusable input: every kind lands in the dead-letter topic with its reason, and the valid records
/// around it are processed.
@Suite struct DeadLetterEndToEndTests {
    @Test func malformedRecordsOfEveryKindGoToTheDeadLetterTopicAndTheRestIsProcessed() async throws {
        let env = try await WorkerTestEnvironment.make()
        let t = "2026-11-20T10:00:00Z"
        func ledger(_ json: String) -> OutboundMessage {
            OutboundMessage(topic: env.topics.ledger, key: Array("u_bad".utf8), value: Array(json.utf8))
        }
        let valid = [
            ledger(#"{"id":"ok1","userId":"u_ok","seq":1,"type":"PURCHASE","amount":500,"balanceAfter":500,"stripePaymentIntentId":null,"createdAt":"\#(t)"}"#),
            ledger(#"{"id":"ok2","userId":"u_ok","seq":2,"type":"USAGE","amount":-5,"balanceAfter":495,"createdAt":"\#(t)"}"#),
        ]
        let bad: [(OutboundMessage, String)] = [
            (ledger("this is not json"), "JSON"),
            (ledger(#"{"id":"b1","userId":"u","seq":"seven","type":"USAGE","amount":1,"balanceAfter":1,"createdAt":"\#(t)"}"#), "seq"),
            (ledger(#"{"id":"b2","userId":"u","seq":1,"type":"USAGE","amount":1,"createdAt":"\#(t)"}"#), "balanceAfter"),
            (ledger(#"{"id":"b3","userId":"u","seq":1,"type":"GIFT","amount":1,"balanceAfter":1,"createdAt":"\#(t)"}"#), "type"),
            (ledger(#"{"id":"b4","userId":"u","seq":1,"type":"USAGE","amount":1,"balanceAfter":1,"createdAt":"\#(t)","pad":"\#(String(repeating: "x", count: 1_100_000))"}"#), "over the limit"),
            (ledger(#"{"schema":{},"payload":{"before":null,"after":{"id":"b5","user_id":"u","seq":1,"type":"USAGE","amount":"AfQ=","balance_after":1,"created_at":"\#(t)"},"op":"c","source":{},"ts_ms":1}}"#), "amount"),
        ]
        let messages = [valid[0]] + bad.map(\.0) + [valid[1]]
        try await env.withCollector { collector in
            try await WorkerFleet.with(configuration: env.nodeConfiguration(), count: 1, logger: env.logger) { fleet in
                await fleet.start(0)
                try await env.publish(messages, properties: ["message.max.bytes": "3000000"])
                let arrived = await collector.wait(timeout: .seconds(60)) {
                    $0.messages(on: env.topics.deadLetters).count >= bad.count
                }
                #expect(arrived)
                let letters = collector.decoded(DeadLetter.self, topic: env.topics.deadLetters)
                #expect(letters.count == bad.count)
                for (message, word) in bad {
                    let payload = Array((message.value ?? []).prefix(DeadLetter.maxPayloadBytes))
                    let letter = letters.first { $0.payloadBase64 == Data(payload).base64EncodedString() }
                    #expect(letter != nil, "no dead letter for the one about \(word)")
                    #expect(letter?.error.contains(word) == true, "\(letter?.error ?? "-") should mention \(word)")
                    #expect(letter?.topic == env.topics.ledger)
                    #expect(letter?.key == "u_bad")
                }
                try await WorkerProbe.waitForConsumption(env, count: messages.count)
                let applied = try await WorkerProbe.appliedByTopic(env)
                #expect(applied[env.topics.ledger] == 2)
                let open = collector.latestIssues(topic: env.topics.issues)
                #expect(open["purchase-without-payment-intent:ok1"]?.status == .open)
            }
        }
    }
}
