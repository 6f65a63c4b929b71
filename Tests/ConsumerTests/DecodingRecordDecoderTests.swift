import Consumers
import Shared
import Testing

/// Shared fixtures for the decoding tests.
enum DecodingFixtures {
    static let topics = Topics()
    static let decoder = RecordDecoder(topics: topics)

    static func decode(_ topic: String, _ json: String) -> DecodeOutcome {
        decoder.decode(InboundRecord(topic: topic, partition: 0, offset: 0, key: nil, value: Array(json.utf8)))
    }

    static let t0 = Timestamp.parse("2026-11-20T10:00:00Z")!

    static let ledgerPlain = """
        {"id": "ctx_0001", "userId": "user_123", "seq": 42,
         "type": "PURCHASE", "amount": 500, "balanceAfter": 1200,
         "stripeEventId": "evt_1", "stripePaymentIntentId": "pi_1", "stripeInvoiceId": null,
         "reason": null, "createdAt": "2026-11-20T10:00:00Z"}
        """
    static let ledgerAfter = """
        {"id": "ctx_0001", "user_id": "user_123", "seq": 42, "type": "PURCHASE", "amount": 500,
         "balance_after": 1200, "stripe_event_id": "evt_1", "stripe_payment_intent_id": "pi_1",
         "stripe_invoice_id": null, "reason": null, "actor": null, "command_id": null,
         "created_at": "2026-11-20T10:00:00Z"}
        """
    static let ledgerRow = LedgerRow(
        id: "ctx_0001", userId: "user_123", seq: 42, type: .purchase, amount: 500, balanceAfter: 1200,
        stripeEventId: "evt_1", stripePaymentIntentId: "pi_1", createdAtMs: t0)

    static let accountPlain = """
        {"userId": "user_123", "role": "USER", "tier": "PRO", "credits": 1200,
         "unlimitedCredits": false, "stripeCustomerId": "cus_1",
         "stripeSubscriptionId": "sub_1", "subscriptionStatus": "active",
         "updatedAt": "2026-11-20T10:00:00Z", "version": 17}
        """
    static let accountAfter = """
        {"id": "user_123", "role": "USER", "tier": "PRO", "credits": 1200, "unlimited_credits": false,
         "stripe_customer_id": "cus_1", "stripe_subscription_id": "sub_1", "subscription_status": "active",
         "updated_at": "2026-11-20T10:00:00Z", "version": 17}
        """
    static let account = AccountSnapshot(
        userId: "user_123", role: .user, tier: .pro, credits: 1200, unlimitedCredits: false,
        stripeCustomerId: "cus_1", stripeSubscriptionId: "sub_1", subscriptionStatus: "active", updatedAtMs: t0,
        version: 17)

    static let webhookPlain = """
        {"eventId": "evt_1", "type": "invoice.paid", "stripePaymentIntentId": null,
         "stripeInvoiceId": "in_1", "processedAt": "2026-11-20T10:00:00Z", "source": "stripe"}
        """
    static let webhookAfter = """
        {"event_id": "evt_1", "type": "invoice.paid", "stripe_payment_intent_id": null,
         "stripe_invoice_id": "in_1", "processed_at": "2026-11-20T10:00:00Z", "source": "stripe"}
        """
    static let webhook = WebhookRecord(
        eventId: "evt_1", type: "invoice.paid", stripeInvoiceId: "in_1", processedAtMs: t0, source: "stripe")

    static let gatePlain = """
        {"feature": "advanced_exports", "allowedTiers": ["PRO", "TEAM"], "updatedAt": "2026-11-20T10:00:00Z"}
        """
    static let gateAfter = """
        {"feature": "advanced_exports", "allowed_tiers": ["PRO", "TEAM"], "updated_at": "2026-11-20T10:00:00Z"}
        """
    static let gate = PlanGate(feature: "advanced_exports", allowedTiers: [.pro, .team], updatedAtMs: t0)

    /// A Debezium change event for `after` (null for deletes).
    static func event(_ after: String?, op: String, table: String = "credit_transactions") -> String {
        """
        {"before": null, "after": \(after ?? "null"),
         "source": {"version": "2.5.0.Final", "connector": "postgresql", "name": "billing", "ts_ms": 1763632800000,
                    "snapshot": "false", "db": "app", "sequence": "[\\"1\\",\\"2\\"]", "schema": "public",
                    "table": "\(table)", "txId": 7, "lsn": 24023984, "xmin": null},
         "op": "\(op)", "ts_ms": 1763632800123, "transaction": null}
        """
    }

    /// The same event inside the JsonConverter `{"schema":…,"payload":…}` wrapper.
    static func wrapped(_ payload: String) -> String {
        """
        {"schema": {"type": "struct", "fields": [{"type": "struct", "fields": [{"type": "string", "optional": false,
          "field": "id"}], "optional": true, "name": "billing.public.t.Value", "field": "after"},
          {"type": "string", "optional": false, "field": "op"}], "optional": false, "name": "billing.public.t.Envelope"},
         "payload": \(payload)}
        """
    }

    static let kinds: [(topic: String, plain: String, after: String, record: BillingRecord)] = [
        (topics.ledger, ledgerPlain, ledgerAfter, .ledger(ledgerRow)),
        (topics.accounts, accountPlain, accountAfter, .account(account)),
        (topics.webhooks, webhookPlain, webhookAfter, .webhook(webhook)),
        (topics.planGates, gatePlain, gateAfter, .planGate(gate)),
    ]
}

@Suite("RecordDecoder: valid inputs")
struct DecodingRecordDecoderTests {
    typealias F = DecodingFixtures

    @Test("every kind decodes from the contract's plain JSON", arguments: 0..<4)
    func plainJSON_decodesEveryKind(kind: Int) {
        let k = F.kinds[kind]
        #expect(F.decode(k.topic, k.plain) == .record(k.record))
    }

    @Test("every kind decodes from a Debezium event without the wrapper, ops c, u and r", arguments: 0..<4)
    func debeziumEnvelope_appliesAfter_forCreateUpdateRead(kind: Int) {
        let k = F.kinds[kind]
        for op in ["c", "u", "r"] {
            #expect(F.decode(k.topic, F.event(k.after, op: op)) == .record(k.record), "op \(op)")
        }
    }

    @Test("every kind decodes from a Debezium event inside the schema/payload wrapper", arguments: 0..<4)
    func debeziumWrapper_appliesAfter(kind: Int) {
        let k = F.kinds[kind]
        for op in ["c", "u", "r"] {
            #expect(F.decode(k.topic, F.wrapped(F.event(k.after, op: op))) == .record(k.record), "op \(op)")
        }
        // The payload may also come before the schema.
        let payloadFirst = #"{"payload": \#(F.event(k.after, op: "c")), "schema": {"type": "struct"}}"#
        #expect(F.decode(k.topic, payloadFirst) == .record(k.record))
    }

    @Test("a Debezium delete is skipped, with and without the wrapper, for every kind", arguments: 0..<4)
    func debeziumDelete_isSkipped(kind: Int) {
        let k = F.kinds[kind]
        let delete = #"{"before": \#(k.after), "after": null, "source": {"table": "t"}, "op": "d", "ts_ms": 1}"#
        #expect(F.decode(k.topic, delete) == .skipped(.delete))
        #expect(F.decode(k.topic, F.wrapped(delete)) == .skipped(.delete))
    }

    @Test("a null value is a tombstone on every input topic; so is a wrapper with a null payload")
    func tombstones_areSkipped() {
        for topic in F.topics.inputs {
            let record = InboundRecord(topic: topic, partition: 1, offset: 9, key: Array("k".utf8), value: nil)
            #expect(F.decoder.decode(record) == .skipped(.tombstone))
            // Debezium envelopes do not apply to Stripe's events.
            guard topic != F.topics.stripe else { continue }
            #expect(F.decode(topic, #"{"schema": null, "payload": null}"#) == .skipped(.tombstone))
        }
    }

    @Test("the topic decides the kind, also under another prefix")
    func topicDecidesKind_underCustomPrefix() {
        let decoder = RecordDecoder(topics: Topics(prefix: "acme."))
        #expect(decoder.kind(ofTopic: "acme.ledger.v1") == .ledger)
        #expect(decoder.kind(ofTopic: "acme.accounts.v1") == .account)
        #expect(decoder.kind(ofTopic: "acme.webhooks.v1") == .webhook)
        #expect(decoder.kind(ofTopic: "acme.plan-gates.v1") == .planGate)
        #expect(decoder.kind(ofTopic: "billing.ledger.v1") == nil)
        let record = InboundRecord(
            topic: "acme.plan-gates.v1", partition: 0, offset: 0, key: nil, value: Array(F.gatePlain.utf8))
        #expect(decoder.decode(record) == .record(.planGate(F.gate)))
    }

    @Test("integer timestamps are read as ms, µs or ns by magnitude; strings may carry fractions and offsets")
    func timestamps_integerAndString() {
        let ms: Int64 = 1_763_632_800_123
        let cases: [(String, Int64)] = [
            ("\(ms)", ms),
            ("\(ms * 1000 + 456)", ms),  // MicroTimestamp
            ("\(ms * 1_000_000 + 456_789)", ms),  // NanoTimestamp
            ("-1500", -1500),
            (#""2026-11-20T10:00:00.123456Z""#, F.t0 + 123),
            (#""2026-11-20T12:00:00+02:00""#, F.t0),
            (#""2026-11-20T10:00:00.5z""#, F.t0 + 500),
        ]
        for (json, expected) in cases {
            let value = #"{"feature": "sso", "allowedTiers": [], "updatedAt": \#(json)}"#
            #expect(
                F.decode(F.topics.planGates, value)
                    == .record(.planGate(PlanGate(feature: "sso", allowedTiers: [], updatedAtMs: expected))), "\(json)")
        }
        let microAfter = #"{"event_id": "evt_9", "processed_at": \#(ms * 1000)}"#
        #expect(
            F.decode(F.topics.webhooks, F.event(microAfter, op: "r"))
                == .record(.webhook(WebhookRecord(eventId: "evt_9", processedAtMs: ms))))
    }

    @Test("escapes and unicode in strings are decoded, including surrogate pairs and escaped keys")
    func strings_escapesAndUnicode() {
        let json = #"""
            {"id": "a\"b\\c\/d\u00e9\u20AC\ud83d\ude00", "userId": "ü€😀中",
             "se\u0071": 1, "type": "\u0055SAGE", "amount": -5, "balanceAfter": 0,
             "reason": "x\"b\\c\/d\be\ff\ng\rh\ti line2", "createdAt": "2026-11-20T10:00:00Z"}
            """#
        let expected = LedgerRow(
            id: "a\"b\\c/d\u{E9}\u{20AC}\u{1F600}", userId: "ü€😀中", seq: 1, type: .usage,
            amount: -5, balanceAfter: 0, reason: "x\"b\\c/d\u{08}e\u{0C}f\ng\rh\ti line2", createdAtMs: F.t0)
        #expect(F.decode(F.topics.ledger, json) == .record(.ledger(expected)))
    }

    @Test("unknown fields are ignored, nested or not; optional fields default; whitespace anywhere")
    func unknownFieldsIgnored_optionalDefaults() {
        let json = """

            \t{ "extra" : { "a" : [ 1 , 2.5e-3 , { "b" : null } , true , false , "x\\"y" ] } ,
              "userId":"user_9","role":"ADMIN","tier":"FREE","credits":-1,"updatedAt":"2026-11-20T10:00:00Z",
              "nested": [[[]]], "n": -0.0E+1 }\r\n
            """
        #expect(
            F.decode(F.topics.accounts, json)
                == .record(
                    .account(
                        AccountSnapshot(
                            userId: "user_9", role: .admin, tier: .free, credits: -1, unlimitedCredits: false,
                            updatedAtMs: F.t0))))
        #expect(
            F.decode(F.topics.webhooks, #"{"eventId": "evt_2", "source": null}"#)
                == .record(.webhook(WebhookRecord(eventId: "evt_2", source: "stripe"))))
        #expect(
            F.decode(F.topics.webhooks, #"{"eventId": "evt_3", "source": "backfill", "processedAt": null}"#)
                == .record(.webhook(WebhookRecord(eventId: "evt_3", source: "backfill"))))
    }

    @Test("the users row's id column is the account's userId; user_id is accepted too")
    func debeziumAccount_idColumnIsUserId() {
        let after = F.accountAfter.replacingFirst(#""id": "user_123""#, with: #""user_id": "user_123""#)
        #expect(F.decode(F.topics.accounts, F.event(after, op: "u", table: "users")) == .record(.account(F.account)))
    }

    @Test("Debezium NUMERIC with decimal.handling.mode=string is read as an integer")
    func debeziumDecimalString_isAccepted() {
        let after = F.ledgerAfter.replacingFirst(#""amount": 500"#, with: #""amount": "500""#)
            .replacingFirst(#""balance_after": 1200"#, with: #""balance_after": "1200""#)
        #expect(F.decode(F.topics.ledger, F.event(after, op: "c")) == .record(.ledger(F.ledgerRow)))
    }

    @Test("64-bit extremes are exact; a repeated key keeps its last value; duplicate tiers make one set")
    func extremes_andRepeatedKeys() {
        let json = """
            {"id": "x", "userId": "u", "seq": 9223372036854775807, "type": "REFUND",
             "amount": -9223372036854775808, "balanceAfter": 0, "reason": "first", "reason": null,
             "createdAt": "2026-11-20T10:00:00Z"}
            """
        #expect(
            F.decode(F.topics.ledger, json)
                == .record(
                    .ledger(
                        LedgerRow(
                            id: "x", userId: "u", seq: .max, type: .refund, amount: .min, balanceAfter: 0,
                            createdAtMs: F.t0))))
        let gate = #"{"feature": "sso", "allowedTiers": ["TEAM", "TEAM", "PRO"], "updatedAt": "2026-11-20T10:00:00Z"}"#
        #expect(
            F.decode(F.topics.planGates, gate)
                == .record(.planGate(PlanGate(feature: "sso", allowedTiers: [.team, .pro], updatedAtMs: F.t0))))
    }
}

extension String {
    /// This string with the first occurrence of `target` replaced (test helper, no Foundation).
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}

@Suite("RecordDecoder: string scanning at every offset")
struct DecodingStringScanTests {
    typealias F = DecodingFixtures

    /// The word-at-a-time scan must find quotes, escapes and multi-byte characters at any position.
    @Test("a special character at each offset of strings up to 24 bytes decodes exactly")
    func specialCharacter_atEveryOffset() {
        let specials: [(json: String, text: String)] = [
            (#"\""#, "\""), (#"\\"#, "\\"), (#"\n"#, "\n"), (#"\u00e9"#, "é"), ("é", "é"), ("😀", "😀"), ("\u{7F}", "\u{7F}"),
        ]
        for length in 0...24 {
            for offset in 0...length {
                for special in specials {
                    let prefix = String(repeating: "a", count: offset)
                    let suffix = String(repeating: "b", count: length - offset)
                    let json = #"{"feature": "\#(prefix)\#(special.json)\#(suffix)", "allowedTiers": [], "updatedAt": 0}"#
                    let expected = PlanGate(feature: prefix + special.text + suffix, allowedTiers: [], updatedAtMs: 0)
                    if special.text == "\n" || special.text == "\u{7F}" {
                        // A control character in an identifier: found at every offset, and refused.
                        guard case .invalid(let reason) = F.decode(F.topics.planGates, json) else {
                            Issue.record("accepted: \(json)")
                            continue
                        }
                        #expect(reason.contains("control characters"), "\(json)")
                        continue
                    }
                    #expect(F.decode(F.topics.planGates, json) == .record(.planGate(expected)), "\(json)")
                }
            }
        }
    }

    @Test("a control character at each offset is refused, and non-ASCII after the closing quote is harmless")
    func controlCharacter_atEveryOffset_isRefused() {
        for offset in 0...20 {
            let text = String(repeating: "a", count: offset) + "\u{1F}" + "bbbbbbbbb"
            let json = #"{"feature": "\#(text)", "allowedTiers": [], "updatedAt": 0}"#
            guard case .invalid(let reason) = F.decode(F.topics.planGates, json) else {
                Issue.record("offset \(offset) was accepted")
                continue
            }
            #expect(reason.contains("unescaped control character 0x1f"), "\(reason)")
        }
        let json = #"{"feature":"abc","x":"ééééééééé","allowedTiers":[],"updatedAt":0}"#
        #expect(F.decode(F.topics.planGates, json) == .record(.planGate(PlanGate(feature: "abc", allowedTiers: [], updatedAtMs: 0))))
    }
}
