import Consumers
import Shared
import Testing

@Suite("RecordDecoder: malformed inputs give clear reasons")
struct DecodingMalformedTests {
    typealias F = DecodingFixtures

    /// The reason of an invalid outcome, or a description of what came instead.
    static func reason(_ outcome: DecodeOutcome) -> String {
        if case .invalid(let reason) = outcome { return reason }
        return "NOT INVALID: \(outcome)"
    }

    static func ledger(_ replace: String, with replacement: String) -> String {
        F.ledgerPlain.replacingFirst(replace, with: replacement)
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var topic: String
        var json: String
        var expected: [String]
        var testDescription: String { name }
    }

    static let ledgerTopic = F.topics.ledger

    static let cases: [Case] = [
        Case(name: "not JSON", topic: ledgerTopic, json: "hello world", expected: ["not valid JSON", "'h' at byte 0"]),
        Case(name: "empty", topic: ledgerTopic, json: "  ", expected: ["not valid JSON", "empty"]),
        Case(
            name: "truncated JSON", topic: ledgerTopic, json: String(F.ledgerPlain.prefix(60)),
            expected: ["not valid JSON", "truncated"]),
        Case(
            name: "truncated after a wrong-typed field still says not JSON", topic: ledgerTopic,
            json: #"{"id": 5, "userId": "u"#, expected: ["not valid JSON", "truncated"]),
        Case(name: "array instead of object", topic: ledgerTopic, json: "[1, 2]", expected: ["value is an array, not a JSON object"]),
        Case(name: "string instead of object", topic: ledgerTopic, json: #""x""#, expected: ["value is a string, not a JSON object"]),
        Case(
            name: "trailing characters", topic: ledgerTopic, json: F.ledgerPlain + " x",
            expected: ["not valid JSON", "unexpected 'x'", "end of input after the"]),
        Case(name: "missing comma", topic: ledgerTopic, json: #"{"id": "a" "userId": "b"}"#, expected: ["expected ',' or '}'"]),
        Case(
            name: "string field given a number", topic: ledgerTopic, json: ledger(#""ctx_0001""#, with: "17"),
            expected: ["field 'id' must be a string, not a number"]),
        Case(
            name: "integer field given a string", topic: ledgerTopic, json: ledger("42", with: #""42""#),
            expected: ["field 'seq' must be an integer, not a string"]),
        Case(
            name: "integer field given a boolean", topic: ledgerTopic, json: ledger("500", with: "true"),
            expected: ["field 'amount' must be an integer, not a boolean"]),
        Case(
            name: "missing required field", topic: ledgerTopic, json: ledger(#""seq": 42,"#, with: ""),
            expected: ["missing required field 'seq'"]),
        Case(
            name: "null required field", topic: ledgerTopic, json: ledger(#""seq": 42"#, with: #""seq": null"#),
            expected: ["field 'seq' must not be null"]),
        Case(
            name: "unknown ledger type", topic: ledgerTopic, json: ledger("PURCHASE", with: "GIFT"),
            expected: [#"field 'type' has unknown value "GIFT""#, "PURCHASE, SUBSCRIPTION_GRANT, USAGE"]),
        Case(
            name: "unknown tier", topic: F.topics.accounts, json: F.accountPlain.replacingFirst("PRO", with: "GOLD"),
            expected: [#"field 'tier' has unknown value "GOLD""#, "FREE, PRO, TEAM"]),
        Case(
            name: "unknown role", topic: F.topics.accounts, json: F.accountPlain.replacingFirst(#""USER""#, with: #""ROOT""#),
            expected: [#"field 'role' has unknown value "ROOT""#]),
        Case(
            name: "missing role is invalid (documented choice)", topic: F.topics.accounts,
            json: F.accountPlain.replacingFirst(#""role": "USER","#, with: ""), expected: ["missing required field 'role'"]),
        Case(
            name: "enum spelled in lower case", topic: ledgerTopic, json: ledger("PURCHASE", with: "purchase"),
            expected: [#"unknown value "purchase""#]),
        Case(
            name: "seq 0", topic: ledgerTopic, json: ledger(#""seq": 42"#, with: #""seq": 0"#),
            expected: ["field 'seq' must be at least 1, not 0"]),
        Case(
            name: "negative seq", topic: ledgerTopic, json: ledger(#""seq": 42"#, with: #""seq": -3"#),
            expected: ["field 'seq' must be at least 1, not -3"]),
        Case(
            name: "float where integer expected", topic: ledgerTopic, json: ledger("42", with: "42.5"),
            expected: ["field 'seq' must be an integer", "42.5"]),
        Case(
            name: "exponent where integer expected", topic: ledgerTopic, json: ledger("500", with: "5e2"),
            expected: ["field 'amount' must be an integer", "5e2"]),
        Case(
            name: "integral float where integer expected", topic: ledgerTopic, json: ledger("1200", with: "1200.0"),
            expected: ["field 'balanceAfter' must be an integer"]),
        Case(
            name: "overflow above Int64.max", topic: ledgerTopic, json: ledger("500", with: "9223372036854775808"),
            expected: ["field 'amount' is outside the signed 64-bit integer range"]),
        Case(
            name: "overflow below Int64.min", topic: ledgerTopic, json: ledger("1200", with: "-9223372036854775809"),
            expected: ["field 'balanceAfter' is outside the signed 64-bit integer range"]),
        Case(
            name: "huge overflow", topic: ledgerTopic, json: ledger("500", with: String(repeating: "9", count: 40)),
            expected: ["outside the signed 64-bit integer range"]),
        Case(
            name: "NaN", topic: ledgerTopic, json: ledger("500", with: "NaN"),
            expected: ["field 'amount' must be a finite integer"]),
        Case(
            name: "-Infinity", topic: ledgerTopic, json: ledger("1200", with: "-Infinity"),
            expected: ["field 'balanceAfter' must be a finite integer"]),
        Case(
            name: "NaN in an ignored field is still not JSON", topic: ledgerTopic,
            json: ledger(#""reason": null"#, with: #""score": NaN"#), expected: ["not valid JSON", "'N'"]),
        Case(
            name: "bad timestamp", topic: ledgerTopic, json: ledger("2026-11-20T10:00:00Z", with: "yesterday"),
            expected: [#"field 'createdAt' is not an RFC 3339 timestamp or epoch integer: "yesterday""#]),
        Case(
            name: "timestamp given a boolean", topic: ledgerTopic,
            json: ledger(#""2026-11-20T10:00:00Z""#, with: "false"), expected: ["field 'createdAt' must be an RFC 3339 timestamp string, not a boolean"]),
        Case(
            name: "boolean given a string", topic: F.topics.accounts,
            json: F.accountPlain.replacingFirst(#""unlimitedCredits": false"#, with: #""unlimitedCredits": "yes""#),
            expected: ["field 'unlimitedCredits' must be a boolean, not a string"]),
        Case(
            name: "allowedTiers not an array", topic: F.topics.planGates,
            json: F.gatePlain.replacingFirst(#"["PRO", "TEAM"]"#, with: #""PRO""#),
            expected: ["field 'allowedTiers' must be an array of strings, not a string"]),
        Case(
            name: "allowedTiers with null", topic: F.topics.planGates,
            json: F.gatePlain.replacingFirst(#"["PRO", "TEAM"]"#, with: #"["PRO", null]"#),
            expected: ["field 'allowedTiers' must not contain null"]),
        Case(
            name: "missing webhook eventId", topic: F.topics.webhooks, json: #"{"type": "invoice.paid"}"#,
            expected: ["missing required field 'eventId'"]),
        Case(
            name: "webhook source as an object in a plain record", topic: F.topics.webhooks,
            json: #"{"eventId": "e", "source": {"x": 1}}"#, expected: ["field 'source' must be a string, not an object"]),
        Case(
            name: "Debezium NUMERIC as base64", topic: ledgerTopic,
            json: F.event(F.ledgerAfter.replacingFirst(#""amount": 500"#, with: #""amount": "AfQ=""#), op: "c"),
            expected: [
                #"field 'amount' arrived as the base64 string "AfQ=""#, "decimal.handling.mode=precise",
                "decimal.handling.mode=string",
            ]),
        Case(
            name: "Debezium missing column names the snake_case column", topic: ledgerTopic,
            json: F.event(F.ledgerAfter.replacingFirst(#""balance_after": 1200,"#, with: ""), op: "c"),
            expected: ["missing required field 'balance_after'"]),
        Case(
            name: "Debezium unsupported op", topic: ledgerTopic, json: F.event(nil, op: "t"),
            expected: [#"unsupported Debezium op "t" (expected c, u, r or d)"#]),
        Case(
            name: "Debezium create without after", topic: ledgerTopic, json: F.event(nil, op: "c"),
            expected: ["Debezium change event with op 'c' has no 'after' row"]),
        Case(
            name: "Debezium event without op", topic: ledgerTopic, json: #"{"before": null, "after": \#(F.ledgerAfter)}"#,
            expected: ["Debezium change event has no 'op'"]),
        Case(
            name: "Debezium payload that is not an event", topic: ledgerTopic,
            json: #"{"schema": null, "payload": \#(F.ledgerAfter)}"#, expected: ["'payload' is not a change event"]),
        Case(
            name: "Debezium after that is a string", topic: ledgerTopic, json: #"{"op": "c", "after": "x"}"#,
            expected: ["Debezium 'after' must be an object or null, not a string"]),
        Case(
            name: "raw control character in a string", topic: ledgerTopic, json: ledger("ctx_0001", with: "ctx\u{01}"),
            expected: ["not valid JSON", "unescaped control character 0x1"]),
        Case(
            name: "invalid escape", topic: ledgerTopic, json: ledger("ctx_0001", with: #"ctx\x"#),
            expected: ["not valid JSON", "expected an escape character"]),
        Case(
            name: "short unicode escape", topic: ledgerTopic, json: ledger("ctx_0001", with: #"ctx\u12"#),
            expected: ["not valid JSON", "hex digit"]),
        Case(
            name: "unpaired surrogate", topic: ledgerTopic, json: ledger("ctx_0001", with: #"ctx\ud83d"#),
            expected: ["not valid JSON", "unpaired UTF-16 surrogate \\uD83D"]),
        Case(
            name: "leading zero", topic: ledgerTopic, json: ledger("42", with: "042"),
            expected: ["not valid JSON", "unexpected '4'"]),
        Case(
            name: "nesting too deep", topic: ledgerTopic,
            json: ledger(#""reason": null"#, with: #""deep": "# + String(repeating: "[", count: 100) + String(repeating: "]", count: 100)),
            expected: ["nested deeper than 64 levels"]),
        Case(name: "unknown topic", topic: "billing.other.v1", json: "{}", expected: ["topic 'billing.other.v1' is not an input topic"]),
    ]

    @Test("each malformed input is invalid with a clear reason", arguments: cases)
    func malformed_isInvalid_withReason(c: Case) {
        let reason = Self.reason(F.decode(c.topic, c.json))
        for part in c.expected {
            #expect(reason.contains(part), "reason was: \(reason)")
        }
    }

    @Test("a value over 1 MiB is refused before parsing, with its size")
    func oversizedValue_isRefusedWithSize() {
        let filler = String(repeating: "x", count: 1 << 20)
        let json = Self.ledger(#""reason": null"#, with: #""reason": "\#(filler)""#)
        let reason = Self.reason(F.decode(F.topics.ledger, json))
        #expect(reason == "value is \(json.utf8.count) bytes, over the limit of 1048576 bytes")
        // Just under the limit it is parsed: the field's own limit (2 000 bytes) refuses it then.
        let small = Self.ledger(#""reason": null"#, with: #""reason": "\#(filler.prefix(1 << 19))""#)
        #expect(
            Self.reason(F.decode(F.topics.ledger, small))
                == "field 'reason' is \(1 << 19) bytes long, over the limit of 2000 bytes")
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8_isRefused() {
        var bytes = Array(F.ledgerPlain.utf8)
        let at = bytes.firstIndex(of: UInt8(ascii: "c"))!  // in "ctx_0001"
        bytes[at] = 0xC3
        bytes[at + 1] = 0x28
        let record = InboundRecord(topic: F.topics.ledger, partition: 0, offset: 0, key: nil, value: bytes)
        #expect(Self.reason(F.decoder.decode(record)) == "field 'id' is not valid UTF-8")
    }

    @Test("the maximum value size is configurable")
    func maxValueBytes_isConfigurable() {
        let decoder = RecordDecoder(topics: F.topics, maxValueBytes: 100)
        let record = InboundRecord(
            topic: F.topics.ledger, partition: 0, offset: 0, key: nil, value: Array(F.ledgerPlain.utf8))
        #expect(Self.reason(decoder.decode(record)).hasPrefix("value is \(F.ledgerPlain.utf8.count) bytes, over the limit of 100 bytes"))
    }
}
