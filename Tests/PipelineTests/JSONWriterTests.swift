import Foundation
import Testing

@testable import Shared

/// `JSONWriter` and the field lists against Foundation's `JSONEncoder`/`JSONDecoder`.
@Suite struct JSONWriterTests {
    static let cases = 400

    static var foundation: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }

    /// The keys of the top-level object, in the order the bytes have them.
    static func topLevelKeys(_ bytes: [UInt8]) throws -> [String] {
        var keys: [String] = []
        var depth = 0
        var index = 0
        while index < bytes.count {
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                // Find the closing quote, stepping over escapes.
                var end = index + 1
                while bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
                if depth == 1, bytes[end + 1] == UInt8(ascii: ":") {
                    keys.append(try #require(JSONReader.parse(Array(bytes[index...end])).stringValue))
                }
                index = end + 1
                continue
            }
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1 }
            if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") { depth -= 1 }
            index += 1
        }
        return keys
    }

    /// A text read and written again by `JSONSerialization` with sorted keys: equal for two texts
    /// that mean the same whatever their key order.
    static func canonical(_ text: some DataProtocol) throws -> Data {
        let object = try JSONSerialization.jsonObject(with: Data(text), options: [.fragmentsAllowed])
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .fragmentsAllowed])
    }

    static func sameJSON(_ a: [UInt8], _ b: Data) throws -> Bool { try canonical(a) == canonical(b) }

    /// The differential check for one value of a contract type: the writer's bytes decode (with
    /// `JSONDecoder`) to the value, mean the same as `JSONEncoder`'s, and list the keys in `order`.
    static func check<T: JSONFields & Decodable & Equatable>(_ value: T, expected: T, order: [String]) throws {
        let bytes = value.jsonBytes()
        let reference = try foundation.encode(value)
        let decoded = try JSONDecoder().decode(T.self, from: Data(bytes))
        #expect(decoded == expected, "\(String(decoding: bytes, as: UTF8.self))")
        #expect(try sameJSON(bytes, reference), "\(String(decoding: bytes, as: UTF8.self))")
        #expect(try topLevelKeys(bytes) == order)
    }

    @Test("issue events: same meaning as JSONEncoder, the CodingKeys' order, every null explicit")
    func issueEvents() throws {
        var generator = ContractValueGenerator(seed: 12)
        let order = IssueEvent.CodingKeys.allCases.map(\.stringValue)
        for _ in 0..<Self.cases {
            let event = generator.issueEvent()
            var expected = event
            expected.evidence = event.evidence.afterRoundTrip
            try Self.check(event, expected: expected, order: order)
        }
    }

    @Test("alerts, dead letters and repair results: same meaning as JSONEncoder, in the CodingKeys' order")
    func otherEvents() throws {
        var generator = ContractValueGenerator(seed: 34)
        let alertOrder = [
            "alertId", "fingerprint", "severity", "issueIds", "issueCount", "issueIdsTruncated", "summary", "emittedAt",
            "dedupWindowSeconds", "windowExpiresAt", "suppressedSinceLastAlert", "atRiskCredits",
        ]
        for _ in 0..<Self.cases {
            let alert = generator.alertEvent()
            try Self.check(alert, expected: alert, order: alertOrder)
            let letter = generator.deadLetter()
            try Self.check(letter, expected: letter, order: DeadLetter.CodingKeys.allCases.map(\.stringValue))
            let result = generator.repairResult()
            var expected = result
            // A `.null` plan is written as `"plan": null`, which reads back as no plan (as before).
            expected.plan = result.plan.flatMap { plan -> JSONValue? in plan == .null ? .none : plan.afterRoundTrip }
            // `detail` and `plan` are left out when nil; every other key is always there.
            let order = RepairResult.CodingKeys.allCases.map(\.stringValue).filter {
                ($0 != "detail" || result.detail != nil) && ($0 != "plan" || result.plan != nil)
            }
            try Self.check(result, expected: expected, order: order)
        }
    }

    @Test("a nil optional is an explicit null, also inside atRisk; an empty commandId is a null commandId")
    func explicitNulls() throws {
        let event = IssueEvent(
            issueId: "ledger-gap:u1:2", version: 1, status: .open, check: .ledgerSequenceGap, userId: nil, title: "t",
            evidence: [:], repair: nil, firstSeenAt: "x", lastSeenAt: "x")
        let text = String(decoding: event.jsonBytes(), as: UTF8.self)
        #expect(
            text
                == #"{"issueId":"ledger-gap:u1:2","version":1,"status":"open","category":"\#(event.category.rawValue)","#
                + #""check":"ledger_sequence_gap","severity":"\#(event.severity.rawValue)","userId":null,"#
                + #""revenueImpacting":\#(event.revenueImpacting),"title":"t","#
                + #""evidence":{},"repair":null,"firstSeenAt":"x","lastSeenAt":"x","resolvedAt":null,"resolution":null,"#
                + #""explanation":null,"atRisk":{"credits":null,"direction":"unknown"},"acknowledgement":null,"#
                + #""snoozedUntil":null,"resurfaced":false,"cause":{"timer":true}}"#)
        let result = RepairResult(commandId: "", issueId: "i", outcome: .rejected, action: nil, rejection: .invalid, processedAt: "p")
        #expect(
            String(decoding: result.jsonBytes(), as: UTF8.self)
                == #"{"commandId":null,"issueId":"i","outcome":"rejected","action":null,"rejection":"invalid","audit":[],"processedAt":"p"}"#)
    }

    @Test("strings, numbers and single-key values: byte for byte what JSONEncoder writes")
    func bytesMatchFoundation() throws {
        var generator = ContractValueGenerator(seed: 56)
        var strings = ContractValueGenerator.pieces
        for _ in 0..<Self.cases { strings.append(generator.string(maxPieces: 12)) }
        for string in strings {
            var writer = JSONWriter()
            writer.string(string)
            #expect(writer.bytes == Array(try Self.foundation.encode(string)), "\(string.debugDescription)")
        }
        var doubles = ContractValueGenerator.doubles
        for _ in 0..<Self.cases { doubles.append(generator.double()) }
        for double in doubles {
            var writer = JSONWriter()
            writer.double(double)
            #expect(writer.bytes == Array(try Self.foundation.encode(double)), "\(double)")
            // The text parses back to the same Double.
            #expect(Double(String(decoding: writer.bytes, as: UTF8.self)) == double)
        }
        var ints = ContractValueGenerator.ints
        for _ in 0..<Self.cases { ints.append(generator.int()) }
        for int in ints {
            var writer = JSONWriter()
            writer.int(int)
            #expect(writer.bytes == Array(try Self.foundation.encode(int)), "\(int)")
        }
        // With at most one key per object the key order is fixed, so whole values compare as bytes.
        for _ in 0..<Self.cases {
            let value = generator.json(depth: 4, maxKeys: 1)
            var writer = JSONWriter()
            writer.value(value)
            #expect(writer.bytes == Array(try Self.foundation.encode(value)), "\(value)")
        }
    }

    @Test("evidence keys are written sorted, so the same evidence always gives the same bytes")
    func sortedEvidenceKeys() throws {
        var writer = JSONWriter()
        writer.value(["b": 1, "a": ["z": true, "y": nil], "": "empty", "é": .double(0.5), "A": []])
        #expect(String(decoding: writer.bytes, as: UTF8.self) == #"{"":"empty","A":[],"a":{"y":null,"z":true},"b":1,"é":0.5}"#)
    }

    @Test("NaN and infinity, which JSON cannot hold, are written as null")
    func nonFiniteDoubles() throws {
        var writer = JSONWriter()
        writer.value([.double(.nan), .double(.infinity), .double(-.infinity), .double(1.5)])
        #expect(String(decoding: writer.bytes, as: UTF8.self) == "[null,null,null,1.5]")
    }

    @Test("Codable encoding replays the same field list: JSONEncoder's output has the writer's keys and nulls")
    func codableUsesTheFieldList() throws {
        let event = IssueEvent(
            issueId: "i", version: 2, status: .resolved, check: .creditBalanceMismatch, userId: "u", title: "t",
            evidence: ["balance": 3], repair: nil, firstSeenAt: "f", lastSeenAt: "l", resolvedAt: "r",
            resolution: .selfHealed, cause: .record(topic: "billing.ledger.v1", partition: 3, offset: 9))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let sorted = String(decoding: try encoder.encode(event), as: UTF8.self)
        #expect(sorted.contains(#""acknowledgement":null"#))
        #expect(sorted.contains(#""cause":{"offset":9,"partition":3,"topic":"billing.ledger.v1"}"#))
        #expect(try Self.sameJSON(event.jsonBytes(), try encoder.encode(event)))
    }
}
