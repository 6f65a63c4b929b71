import Consumers
import Foundation
import Shared
import Testing

@Suite("Dead letters and their policy")
struct DecodingDeadLetterTests {
    @Test("the policy parses setting values case-insensitively and defaults to dead-letter")
    func policy_parsesSettingValues() {
        #expect(DeadLetterPolicy.default == .deadLetter)
        for text in ["dead-letter", "DEAD_LETTER", "deadletter", "dlq", "continue"] {
            #expect(DeadLetterPolicy(rawValue: text) == .deadLetter, "\(text)")
        }
        #expect(DeadLetterPolicy(rawValue: "FAIL") == .fail)
        #expect(DeadLetterPolicy(rawValue: "ignore") == nil)
        #expect(DeadLetterPolicy(rawValue: "") == nil)
        #expect(DeadLetterPolicy.deadLetter.rawValue == "dead-letter")
        #expect(DeadLetterPolicy(rawValue: DeadLetterPolicy.fail.rawValue) == .fail)
        #expect(DeadLetterPolicy.fail.stopsWorker && !DeadLetterPolicy.deadLetter.stopsWorker)
    }

    @Test("a dead letter carries the origin, the payload as base64, the reason and the receive time")
    func make_fillsEveryField() throws {
        let payload: [UInt8] = Array(#"{"seq": "x"}"#.utf8) + [0xFF, 0x00]
        let record = InboundRecord(
            topic: "billing.ledger.v1", partition: 3, offset: 1200, key: Array("user_123".utf8), value: payload)
        let letter = DeadLetter.make(
            from: record, error: "field 'seq' must be an integer", receivedAtMs: Timestamp.parse("2026-11-20T10:00:00Z")!)
        #expect(letter.topic == "billing.ledger.v1")
        #expect(letter.partition == 3)
        #expect(letter.offset == 1200)
        #expect(letter.key == "user_123")
        #expect(letter.error == "field 'seq' must be an integer")
        #expect(letter.receivedAt == "2026-11-20T10:00:00.000Z")
        let decoded = try #require(letter.payloadBase64.flatMap { Data(base64Encoded: $0) })
        #expect(Array(decoded) == payload)
    }

    @Test("the JSON has the contract's keys, explicit nulls for a keyless tombstone, and unescaped slashes")
    func json_matchesContract() throws {
        let record = InboundRecord(topic: "billing.plan-gates.v1", partition: 0, offset: 7, key: nil, value: nil)
        let letter = DeadLetter.make(from: record, error: "a/b", receivedAtMs: 0)
        let text = String(decoding: letter.jsonBytes(), as: UTF8.self)
        #expect(text.contains(#""key":null"#))
        #expect(text.contains(#""payloadBase64":null"#))
        #expect(text.contains(#""error":"a\/b""#) == false)
        #expect(text.contains(#""topic":"billing.plan-gates.v1""#))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "topic", "partition", "offset", "key", "keyBase64", "payloadBase64", "payloadTruncated", "error",
                "receivedAt",
            ])
        #expect(text.contains(#""keyBase64":null"#))
        #expect(object["payloadTruncated"] as? Bool == false)
        #expect(object["error"] as? String == "a/b")
        #expect(object["receivedAt"] as? String == "1970-01-01T00:00:00.000Z")
        #expect((object["offset"] as? NSNumber)?.int64Value == 7)
    }

    @Test("the dead-letter message goes to the DLQ topic under the original key")
    func outboundMessage_usesDLQTopicAndOriginalKey() throws {
        let topics = Topics(prefix: "acme.")
        let key: [UInt8] = [0x01, 0xFE]
        let record = InboundRecord(topic: topics.ledger, partition: 1, offset: 2, key: key, value: Array("{".utf8))
        let letter = DeadLetter.make(from: record, error: "not valid JSON", receivedAtMs: 1)
        let message = letter.outboundMessage(topics: topics, originalKey: record.key)
        #expect(message.topic == "acme.assurance.dlq.v1")
        #expect(message.key == key)
        // Key order is JSONEncoder's business: compare the decoded letters.
        let decoded = try JSONDecoder().decode(DeadLetter.self, from: Data(try #require(message.value)))
        #expect(decoded == letter)
    }

    @Test("the decoder's reason flows into the dead letter unchanged")
    func decoderReason_becomesDeadLetterError() {
        let record = InboundRecord(
            topic: "billing.ledger.v1", partition: 0, offset: 5, key: nil,
            value: Array(DecodingFixtures.ledgerPlain.replacingFirst("42", with: #""42""#).utf8))
        guard case .invalid(let reason) = DecodingFixtures.decoder.decode(record) else {
            Issue.record("expected invalid")
            return
        }
        let letter = DeadLetter.make(from: record, error: reason, receivedAtMs: 0)
        #expect(letter.error == "field 'seq' must be an integer, not a string")
    }
}
