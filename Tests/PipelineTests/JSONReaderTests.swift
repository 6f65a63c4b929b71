import Foundation
import Testing

@testable import Shared

/// `JSONReader` (and decoding through it) against Foundation's `JSONDecoder`/`JSONSerialization`.
@Suite struct JSONReaderTests {
    static let cases = 400

    static func foundationValue(_ text: some DataProtocol) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text))
    }

    @Test("valid documents read as JSONDecoder reads them, compact or pretty-printed")
    func differentialValues() throws {
        var generator = ContractValueGenerator(seed: 78)
        let pretty = JSONEncoder()
        pretty.outputFormatting = [.prettyPrinted, .withoutEscapingSlashes]
        for _ in 0..<Self.cases {
            let value = generator.json(depth: 4)
            for text in [try JSONWriterTests.foundation.encode(value), try pretty.encode(value)] {
                let read = try JSONReader.parse(Array(text))
                #expect(read == (try Self.foundationValue(text)), "\(String(decoding: text, as: UTF8.self))")
                #expect(read == value.afterRoundTrip)
            }
        }
    }

    @Test("hand-written edge cases read as JSONDecoder reads them")
    func edgeCases() throws {
        let documents = [
            #" { "a" : [ 1 , 2.5 , -0 , -0.0 , 1.0 , 1e2 , 1E+2 , 1.5e1 , 2e-1 , 0.1 ] , "b" : "x" } "#,
            #"[9223372036854775807, -9223372036854775808, 9223372036854775808, -9223372036854775809, 1e19, 123456789012345678901234567890]"#,
            "[-7.453941885401481e+17, 12345678901234567e0, 100e-2, 0.00001e5, 1e-400, 9.223372036854775807e18, 1.5e300]",
            "[0e0, -0e-5, 0.000, 10000000000000000000e-1, 922337203685477580.8e1, -922337203685477580.8e1]",
            #"["\u00e9\u00E9", "\ud83d\ude00", "\/\\\"\b\f\n\r\t", "\u0000", "\u001f", "é😀", "\u2028"]"#,
            #"{"a": 1, "a": 2}"#,
            "\t\n\r [ ]\n", "{}", "0", "-1", "true", "false", "null", #""""#, "1.7976931348623157e308", "5e-324",
            #"{"evidence": {"nested": {"deeper": [[[[{"x": null}]]]]}}}"#,
        ]
        for document in documents {
            let read = try JSONReader.parse(document)
            #expect(read == (try Self.foundationValue(Data(document.utf8))), "\(document)")
        }
        #expect(try JSONReader.parse(#"{"a": 1, "a": 2}"#) == ["a": 1])
        #expect(try JSONReader.parse("[-7.453941885401481e+17, 1.0, 0.1]") == [.int(-745_394_188_540_148_100), 1, .double(0.1)])
        #expect(try JSONReader.parse(#""\ud83d\ude00""#) == "😀")
    }

    @Test("invalid documents are refused with an error, never a crash", arguments: [
        "", " ", "[1,]", #"{"a":1,}"#, "[,1]", "[1 2]", #"{"a" 1}"#, #"{a:1}"#, #"{'a':1}"#, "{1:2}", "[01]", "[-01]", "[+1]",
        "[.5]", "[1.]", "[1e]", "[1e+]", "[-]", "[NaN]", "[Infinity]", "[-Infinity]", "[1e400]", "[-1e400]", "[tru]", "[nul]",
        "[True]", #"["\x"]"#, #"["\u12"]"#, #"["\uZZZZ"]"#, #"["\ud800"]"#, #"["\udc00"]"#, #"["\ud800\u0041"]"#,
        #"["\ud800x"]"#, #"["\ud800\ud800"]"#, #""abc"#, #"["abc]"#, #"{"a":"b}"#, "[\"\t\"]", "[\"\n\"]", "[\"\u{1}\"]",
        "[1] x", "[1][2]", "{}}", "]", "[", "{", "\u{FEFF}[1]", "[1]\u{0}",
    ])
    func rejects(_ document: String) {
        #expect(throws: JSONReadError.self) { try JSONReader.parse(document) }
    }

    @Test("bytes that are not UTF-8 are refused, in strings and outside them")
    func invalidUTF8() {
        for bytes: [UInt8] in [
            [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xC0, 0x80, 0x22],
            [0x5B, 0xFF, 0x5D], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
        ] {
            #expect(throws: JSONReadError.self) { try JSONReader.parse(bytes) }
        }
    }

    @Test("nesting up to the limit is read, deeper is refused, a depth bomb is an error")
    func depth() throws {
        let limit = JSONReader.maxDepth
        let deepest = String(repeating: "[", count: limit) + String(repeating: "]", count: limit)
        #expect(throws: Never.self) { try JSONReader.parse(deepest) }
        let tooDeep = String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)
        #expect(throws: JSONReadError.self) { try JSONReader.parse(tooDeep) }
        #expect(throws: JSONReadError.self) { try JSONReader.parse(String(repeating: "[", count: 1_000_000)) }
        #expect(throws: JSONReadError.self) { try JSONReader.parse(String(repeating: #"{"a":"#, count: 100_000)) }
    }

    @Test("the error says what and where")
    func errorMessage() {
        do {
            _ = try JSONReader.parse("[1,]")
            Issue.record("accepted a trailing comma")
        } catch {
            #expect(error.offset == 3)
            #expect(error.description == "not valid JSON: unexpected ']', expected a value at byte 3")
        }
    }

    @Test("issue events, alerts, dead letters and repair results decode as with JSONDecoder")
    func differentialDecoding() throws {
        var generator = ContractValueGenerator(seed: 90)
        for _ in 0..<Self.cases {
            let event = generator.issueEvent()
            let text = String(decoding: event.jsonBytes(), as: UTF8.self)
            let decoded = try JSONReader.decode(IssueEvent.self, from: text)
            #expect(decoded == (try JSONDecoder().decode(IssueEvent.self, from: Data(text.utf8))))
            #expect(decoded.evidence == event.evidence.afterRoundTrip)
            let alert = generator.alertEvent()
            #expect(try JSONReader.decode(AlertEvent.self, from: String(decoding: alert.jsonBytes(), as: UTF8.self)) == alert)
            let letter = generator.deadLetter()
            #expect(try JSONReader.decode(DeadLetter.self, from: String(decoding: letter.jsonBytes(), as: UTF8.self)) == letter)
            let result = generator.repairResult()
            let resultText = String(decoding: result.jsonBytes(), as: UTF8.self)
            #expect(
                try JSONReader.decode(RepairResult.self, from: resultText)
                    == (try JSONDecoder().decode(RepairResult.self, from: Data(resultText.utf8))))
        }
    }

    @Test("rows stored before the on-call fields existed get the same defaults as with JSONDecoder")
    func oldRows() throws {
        let old = #"""
            {"issueId":"credit-balance:user_1","version":3,"status":"open","category":"credit_reconciliation",
             "check":"credit_balance_mismatch","severity":"error","userId":"user_1","revenueImpacting":true,
             "title":"Balance 1300 differs","evidence":{"balance":1300,"ledgerBalanceAfter":1200},
             "repair":{"action":"sync_balance","description":"d"},"firstSeenAt":"f","lastSeenAt":"l",
             "resolvedAt":null,"resolution":null}
            """#
        let withoutEvidence = #"{"issueId":"i","version":1,"status":"resolved","category":"plan_gates","#
            + #""check":"plan_gate_regression","severity":"critical","revenueImpacting":false,"title":"t","#
            + #""firstSeenAt":"f","lastSeenAt":"l","evidence":null,"cause":{"commandId":"c"}}"#
        for text in [old, withoutEvidence] {
            let decoded = try JSONReader.decode(IssueEvent.self, from: text)
            #expect(decoded == (try JSONDecoder().decode(IssueEvent.self, from: Data(text.utf8))))
        }
        let decoded = try JSONReader.decode(IssueEvent.self, from: old)
        #expect(decoded.atRisk == AtRisk(credits: 100, direction: .leakage))
        #expect(decoded.cause == .timer && decoded.resurfaced == false && decoded.acknowledgement == nil)
        #expect(try JSONReader.decode(IssueEvent.self, from: withoutEvidence).evidence == .null)
    }

    @Test("a missing required key, a wrong type or an unknown enum value is an error, as with JSONDecoder")
    func decodingErrors() throws {
        let event = IssueEvent(
            issueId: "i", version: 1, status: .open, check: .ledgerSequenceGap, userId: nil, title: "t", evidence: [:],
            repair: nil, firstSeenAt: "f", lastSeenAt: "l")
        guard case .object(var fields) = try JSONReader.parse(event.jsonBytes()) else {
            Issue.record("not an object")
            return
        }
        var broken: [JSONValue] = []
        var missing = fields
        missing["title"] = nil
        broken.append(.object(missing))
        fields["version"] = "1"
        broken.append(.object(fields))
        fields["version"] = .double(1.5)
        broken.append(.object(fields))
        fields["version"] = 1
        fields["status"] = "closed"
        broken.append(.object(fields))
        fields["status"] = "open"
        fields["cause"] = ["topic": "t", "partition": 3_000_000_000, "offset": 1]
        broken.append(.object(fields))
        for value in broken {
            let text = String(decoding: { var w = JSONWriter(); w.value(value); return w.bytes }(), as: UTF8.self)
            #expect(throws: DecodingError.self) { try JSONReader.decode(IssueEvent.self, from: text) }
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(IssueEvent.self, from: Data(text.utf8)) }
        }
    }
}
