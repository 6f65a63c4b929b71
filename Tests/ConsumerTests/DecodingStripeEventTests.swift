import Foundation
import Consumers
import Shared
import Testing

/// Stripe Event objects on `billing.stripe.v1`: what is read, what is skipped, what is dead-lettered.
@Suite struct DecodingStripeEventTests {
    let decoder = RecordDecoder(topics: Topics())

    func decode(_ json: String, nowMs: Int64? = nil) -> DecodeOutcome {
        decoder.decode(
            InboundRecord(topic: Topics().stripe, partition: 0, offset: 0, key: Array("cus_1".utf8), value: Array(json.utf8)),
            nowMs: nowMs)
    }

    /// A subscription event as Stripe sends it (`type` after `data`, plenty of ignored fields).
    static func subscription(type: String = "customer.subscription.updated", customer: String = "\"cus_1\"",
                             status: String = "\"active\"", id: String = "\"evt_1Q\"", created: String = "1763632800")
        -> String
    {
        """
        {"id": \(id), "object": "event", "api_version": "2024-06-20", "created": \(created),
         "data": {"object": {"id": "sub_1", "object": "subscription", "customer": \(customer),
                             "status": \(status), "current_period_end": 1766224800,
                             "items": {"object": "list", "data": [{"id": "si_1", "price": {"id": "price_1"}}]},
                             "metadata": {"note": "\(String(repeating: "x", count: 3000))"}},
                  "previous_attributes": {"status": "trialing"}},
         "livemode": false, "pending_webhooks": 1, "request": {"id": null}, "type": "\(type)"}
        """
    }

    static let invoice = """
        {"id": "evt_2", "object": "event", "created": 1763632800, "type": "invoice.paid",
         "data": {"object": {"id": "in_1", "object": "invoice", "customer": {"id": "cus_1", "object": "customer"},
                             "subscription": "sub_1", "billing_reason": "subscription_cycle",
                             "amount_paid": 2900, "currency": "usd", "lines": {"data": []}}}}
        """

    @Test func subscriptionEvent_readsItsFields_andTheEventTime() {
        #expect(
            decode(Self.subscription())
                == .record(
                    .stripe(
                        StripeEvent(
                            id: "evt_1Q", type: .subscriptionUpdated, createdMs: 1_763_632_800_000, customerId: "cus_1",
                            objectId: "sub_1", status: "active"))))
        if case .record(let record) = decode(Self.subscription()) { #expect(record.eventTimeMs == 1_763_632_800_000) }
    }

    @Test func deletedSubscription_isCanceledWhateverTheObjectSays() {
        guard case .record(.stripe(let event)) = decode(Self.subscription(type: "customer.subscription.deleted")) else {
            Issue.record("not decoded")
            return
        }
        #expect(event.status == "canceled")
        #expect(event.type == .subscriptionDeleted)
    }

    @Test func invoicePaid_readsAmountCurrencyReasonAndAnExpandedCustomer() {
        #expect(
            decode(Self.invoice)
                == .record(
                    .stripe(
                        StripeEvent(
                            id: "evt_2", type: .invoicePaid, createdMs: 1_763_632_800_000, customerId: "cus_1",
                            objectId: "in_1", subscriptionId: "sub_1", billingReason: "subscription_cycle",
                            amountPaid: 2900, currency: "usd"))))
    }

    @Test func otherTypes_areSkippedWhateverTheyHold() {
        #expect(decode(#"{"id": "evt_9", "type": "charge.succeeded", "created": 1, "data": {"object": {"id": 5, "customer": 7}}}"#)
            == .skipped(.otherStripeType))
        #expect(decode(#"{"type": "customer.created", "data": "nonsense", "created": "yesterday"}"#) == .skipped(.otherStripeType))
    }

    @Test func readTypesWithoutIdCreatedOrCustomer_areDeadLetteredNamingTheField() {
        #expect(decode(Self.subscription(id: "null")) == .invalid("missing required field 'id'"))
        #expect(
            decode(#"{"id": "evt_1", "type": "invoice.paid", "data": {"object": {"id": "in_1", "customer": "cus_1"}}}"#)
                == .invalid("missing required field 'created'"))
        #expect(decode(Self.subscription(customer: "null")) == .invalid("missing required field 'data.object.customer'"))
        #expect(
            decode(#"{"id": "evt_1", "type": "invoice.paid", "created": 1}"#)
                == .invalid("missing required field 'data.object'"))
        guard case .invalid(let reason) = decode(Self.subscription(customer: "42")) else {
            Issue.record("accepted a numeric customer")
            return
        }
        #expect(reason.contains("'data.object.customer'"))
        guard case .invalid(let created) = decode(Self.subscription(created: "\"2026-01-01\"")) else {
            Issue.record("accepted a string created")
            return
        }
        #expect(created.contains("'created'"))
        #expect(decode(#"{"id": "evt_1", "created": 1}"#) == .invalid("missing required field 'type'"))
    }

    @Test func inputLimits_applyToTheFieldsRead() {
        let long = String(repeating: "e", count: 201)
        guard case .invalid(let tooLong) = decode(Self.subscription(id: "\"\(long)\"")) else {
            Issue.record("accepted a 201-byte id")
            return
        }
        #expect(tooLong.contains("'id'") && tooLong.contains("200"))
        guard case .invalid(let control) = decode(Self.subscription(customer: #""cus\u0001""#)) else {
            Issue.record("accepted a control character in an identifier")
            return
        }
        #expect(control.contains("'data.object.customer'"))
        guard case .invalid(let big) = decode(Self.subscription(status: "\"\(String(repeating: "a", count: 2001))\"")) else {
            Issue.record("accepted a 2001-byte status")
            return
        }
        #expect(big.contains("'data.object.status'") && big.contains("2000"))
        let nul = Self.invoice.replacingOccurrences(of: "\"usd\"", with: #""us\u0000d""#)
        guard case .invalid(let withNul) = decode(nul) else {
            Issue.record("accepted U+0000")
            return
        }
        #expect(withNul.contains("'data.object.currency'"))
        // 200 bytes is still an identifier.
        if case .invalid(let reason) = decode(Self.subscription(id: "\"\(String(repeating: "e", count: 200))\"")) {
            Issue.record("refused a 200-byte id: \(reason)")
        }
    }

    @Test func createdInTheFuture_isDeadLettered_whenTheClockIsGiven() {
        let now: Int64 = 1_763_632_800_000
        let tomorrowAndABit = String((now + 86_400_000 + 1_000) / 1000)
        guard case .invalid(let reason) = decode(Self.subscription(created: tomorrowAndABit), nowMs: now) else {
            Issue.record("accepted an event from the future")
            return
        }
        #expect(reason.contains("created is in the future"))
        let withinADay = String((now + 86_400_000) / 1000)
        #expect(decode(Self.subscription(created: withinADay), nowMs: now).isRecord)
    }

    @Test func notJSON_andDebeziumEnvelopes_areDeadLettered() {
        guard case .invalid(let syntax) = decode(#"{"id": "evt_1", "type": "invoice.paid""#) else {
            Issue.record("accepted truncated JSON")
            return
        }
        #expect(syntax.contains("not valid JSON"))
        #expect(decode(#"{"op": "c", "after": {"id": "evt_1"}}"#) == .invalid("missing required field 'type'"))
        #expect(decode("[1]").isInvalid)
    }
}

extension DecodeOutcome {
    var isRecord: Bool { if case .record = self { true } else { false } }
    var isInvalid: Bool { if case .invalid = self { true } else { false } }
}
