import Consumers
import Foundation
import Shared
import Testing

@Suite("Limits on input at the door")
struct InputLimitsTests {
    static let decoder = RecordDecoder(topics: Topics(), maxFutureMs: 86_400_000)
    static let t = "2026-11-20T10:00:00Z"
    static let nowMs = Timestamp.parse(t)!

    static func reason(_ topic: String, _ json: String, nowMs: Int64? = InputLimitsTests.nowMs) -> String? {
        let record = InboundRecord(topic: topic, partition: 0, offset: 0, key: nil, value: Array(json.utf8))
        guard case .invalid(let reason) = decoder.decode(record, nowMs: nowMs) else { return nil }
        return reason
    }

    static func ledger(_ fields: [String: String]) -> String {
        var base: [String: String] = [
            "id": #""ctx_1""#, "userId": #""u_1""#, "seq": "1", "type": #""PURCHASE""#, "amount": "5",
            "balanceAfter": "5", "stripeEventId": #""evt_1""#, "stripePaymentIntentId": #""pi_1""#,
            "stripeInvoiceId": #""in_1""#, "reason": #""ok""#, "createdAt": "\"\(t)\"",
        ]
        base.merge(fields) { $1 }
        return "{" + base.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ") + "}"
    }

    @Test("a NUL in any identifier field of a ledger row is refused, naming the field")
    func nulInEveryLedgerIdentifier() {
        for field in ["id", "userId", "stripeEventId", "stripePaymentIntentId", "stripeInvoiceId"] {
            let reason = Self.reason(Topics().ledger, Self.ledger([field: #""a\u0000b""#]))
            #expect(reason == "field '\(field)' must not contain U+0000", "\(field): \(reason ?? "accepted")")
        }
    }

    @Test("a NUL in a free-text field is refused, naming the field")
    func nulInFreeText() {
        #expect(Self.reason(Topics().ledger, Self.ledger(["reason": #""x\u0000""#])) == "field 'reason' must not contain U+0000")
        let webhook = #"{"eventId": "evt_1", "type": "invoice.paid\u0000", "processedAt": "2026-11-20T10:00:00Z"}"#
        #expect(Self.reason(Topics().webhooks, webhook) == "field 'type' must not contain U+0000")
        let account = #"{"userId": "u", "role": "USER", "tier": "PRO", "credits": 1, "subscriptionStatus": "a\u0000", "updatedAt": "2026-11-20T10:00:00Z"}"#
        #expect(Self.reason(Topics().accounts, account) == "field 'subscriptionStatus' must not contain U+0000")
    }

    @Test("identifiers are 1 to 200 bytes without control characters")
    func identifierLengthAndControlCharacters() {
        let long = String(repeating: "x", count: 4000)
        #expect(Self.reason(Topics().ledger, Self.ledger(["id": "\"\(long)\""]))?.contains("field 'id' is 4000 bytes") == true)
        #expect(Self.reason(Topics().ledger, Self.ledger(["userId": "\"\(String(repeating: "é", count: 100))\""])) == nil)
        #expect(Self.reason(Topics().ledger, Self.ledger(["userId": "\"\(String(repeating: "é", count: 101))\""])) != nil)
        #expect(Self.reason(Topics().ledger, Self.ledger(["userId": #""""#])) == "field 'userId' must not be empty")
        #expect(Self.reason(Topics().ledger, Self.ledger(["userId": #""a\nb""#]))?.contains("control characters") == true)
        #expect(Self.reason(Topics().ledger, Self.ledger(["userId": #""a\u007fb""#]))?.contains("U+007F") == true)
        let gate = #"{"feature": "a\tb", "allowedTiers": ["PRO"], "updatedAt": "2026-11-20T10:00:00Z"}"#
        #expect(Self.reason(Topics().planGates, gate)?.contains("field 'feature'") == true)
    }

    @Test("other strings are at most 2 000 bytes")
    func textLength() {
        #expect(Self.reason(Topics().ledger, Self.ledger(["reason": "\"\(String(repeating: "r", count: 2000))\""])) == nil)
        #expect(
            Self.reason(Topics().ledger, Self.ledger(["reason": "\"\(String(repeating: "r", count: 2001))\""]))
                == "field 'reason' is 2001 bytes long, over the limit of 2000 bytes")
    }

    @Test("a Debezium row names the snake_case column")
    func debeziumNamesColumn() {
        let event = #"{"op": "c", "after": {"id": "c1", "user_id": "u\u0000", "seq": 1, "type": "USAGE", "amount": 1, "balance_after": 1, "created_at": "2026-11-20T10:00:00Z"}}"#
        #expect(Self.reason(Topics().ledger, event) == "field 'user_id' must not contain U+0000")
    }

    @Test("an event time more than ASSURE_MAX_FUTURE_S ahead of the clock is refused, naming the field")
    func futureEventTime() {
        let inADay = Timestamp.format(Self.nowMs + 86_400_000)
        let beyond = Timestamp.format(Self.nowMs + 86_400_001)
        #expect(Self.reason(Topics().ledger, Self.ledger(["createdAt": "\"\(inADay)\""])) == nil)
        let reason = Self.reason(Topics().ledger, Self.ledger(["createdAt": "\"\(beyond)\""]))
        #expect(reason?.hasPrefix("createdAt is in the future") == true, "\(reason ?? "accepted")")
        let account = #"{"userId": "u", "role": "USER", "tier": "PRO", "credits": 1, "updatedAt": "2099-01-01T00:00:00Z"}"#
        #expect(Self.reason(Topics().accounts, account)?.hasPrefix("updatedAt is in the future") == true)
        let webhook = #"{"eventId": "e", "processedAt": 4102444800000}"#
        #expect(Self.reason(Topics().webhooks, webhook)?.hasPrefix("processedAt is in the future") == true)
        // Without a clock (tools that only parse) the time is not judged.
        #expect(Self.reason(Topics().ledger, Self.ledger(["createdAt": "\"\(beyond)\""]), nowMs: nil) == nil)
    }

    @Test("commands breaking the limits fail to decode; an unusable commandId is not echoed")
    func commandLimits() {
        func command(_ commandId: String, reason: String = "ok", actor: String = "admin_7") -> [UInt8] {
            Array(
                #"{"commandId": "\#(commandId)", "issueId": "credit-balance:u", "reason": "\#(reason)", "actor": {"id": "\#(actor)", "role": "ADMIN"}, "requestedAt": "2026-11-20T10:00:00Z", "signature": "00"}"#
                    .utf8)
        }
        guard case .failure(let nul) = CommandDecoder.decode(command(#"c\u0000"#)) else {
            Issue.record("a NUL commandId decoded")
            return
        }
        #expect(nul.commandId == nil)
        #expect(nul.issueId == "credit-balance:u")
        #expect(nul.reason == "field 'commandId' must not contain U+0000")
        guard case .failure(let long) = CommandDecoder.decode(command(String(repeating: "c", count: 201))) else {
            Issue.record("a 201-byte commandId decoded")
            return
        }
        #expect(long.commandId == nil)
        guard case .failure(let reason) = CommandDecoder.decode(command("cmd_1", reason: #"a\u0000"#)) else {
            Issue.record("a NUL reason decoded")
            return
        }
        #expect(reason.commandId == "cmd_1")
        #expect(reason.reason == "field 'reason' must not contain U+0000")
        guard case .failure(let actor) = CommandDecoder.decode(command("cmd_1", actor: #"a\nb"#)) else {
            Issue.record("a control character in actor.id decoded")
            return
        }
        #expect(actor.reason.contains("field 'actor.id'"))
        #expect((try? CommandDecoder.decode(command("cmd_1")).get()) != nil)
    }

    @Test("a result without a usable commandId carries commandId null")
    func resultWithoutCommandId() throws {
        let result = RepairResult(
            commandId: "", issueId: "", outcome: .rejected, action: nil, rejection: .invalid, detail: "x",
            processedAt: "2026-11-20T10:00:00.000Z")
        let json = try #require(
            try JSONSerialization.jsonObject(with: JSONEncoder().encode(result)) as? [String: Any])
        #expect(json["commandId"] is NSNull)
        let decoded = try JSONDecoder().decode(RepairResult.self, from: JSONEncoder().encode(result))
        #expect(decoded == result)
    }

    @Test("a dead letter keeps a binary key byte for byte and says when the payload was cut")
    func deadLetterKeysAndTruncation() throws {
        let key: [UInt8] = [0x00, 0x00, 0x00, 0x01, 0xC3, 0x28]  // Confluent's magic byte, invalid UTF-8
        let payload = [UInt8](repeating: 0x41, count: DeadLetter.maxPayloadBytes + 10)
        let record = InboundRecord(topic: "billing.ledger.v1", partition: 2, offset: 9, key: key, value: payload)
        let letter = DeadLetter.make(from: record, error: "bad", receivedAtMs: 0)
        #expect(letter.key == nil)
        #expect(letter.keyBase64.flatMap { Data(base64Encoded: $0) }.map(Array.init) == key)
        #expect(letter.payloadTruncated)
        #expect(letter.payloadBase64.flatMap { Data(base64Encoded: $0) }?.count == DeadLetter.maxPayloadBytes)
        let message = letter.outboundMessage(topics: Topics(), originalKey: record.key)
        #expect(message.key == key)
        let text = DeadLetter.make(
            from: InboundRecord(topic: "t", partition: 0, offset: 0, key: Array("user_1".utf8), value: [1]), error: "e",
            receivedAtMs: 0)
        #expect(text.key == "user_1")
        #expect(text.keyBase64 == "dXNlcl8x")
        #expect(!text.payloadTruncated)
        let control = DeadLetter.make(
            from: InboundRecord(topic: "t", partition: 0, offset: 0, key: Array("a\tb".utf8), value: nil), error: "e",
            receivedAtMs: 0)
        #expect(control.key == nil)
    }
}
