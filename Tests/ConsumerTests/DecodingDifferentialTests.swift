import Consumers
import Foundation
import Shared
import Testing

/// A small deterministic generator, so a failing seed can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes random but valid JSON for random records, in random spellings.
struct RandomJSONWriter {
    var rng: SplitMix64

    static let scalars: [Unicode.Scalar] = [
        "a", "Z", "0", "_", "-", " ", ".", ":", "\"", "\\", "/", "\n", "\t", "\r", "\u{08}", "\u{0C}", "\u{01}",
        "\u{1F}", "\u{7F}", "é", "ß", "€", "中", "😀", "𝄞", "\u{FFFD}",
    ]

    mutating func text(maxLength: Int = 12) -> String {
        var s = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...maxLength, using: &rng) {
            s.append(Self.scalars.randomElement(using: &rng)!)
        }
        return String(s)
    }

    /// A JSON string literal for `text`, escaping randomly where JSON allows a choice.
    mutating func literal(_ text: String) -> String {
        var out = "\""
        func hex(_ v: UInt32) -> String {
            let h = String(v, radix: 16, uppercase: Bool.random(using: &rng))
            return "\\u" + String(repeating: "0", count: 4 - h.count) + h
        }
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let escape = Int.random(in: 0..<3, using: &rng) == 0
            switch scalar {
            case "\"": out += escape ? hex(v) : "\\\""
            case "\\": out += escape ? hex(v) : "\\\\"
            case "/": out += escape ? "\\/" : "/"
            case "\n": out += escape ? hex(v) : "\\n"
            case "\t": out += escape ? hex(v) : "\\t"
            case "\r": out += escape ? hex(v) : "\\r"
            case "\u{08}": out += escape ? hex(v) : "\\b"
            case "\u{0C}": out += escape ? hex(v) : "\\f"
            case _ where v < 0x20: out += hex(v)
            case _ where escape && v > 0xFFFF:
                let u = v - 0x10000
                out += hex(0xD800 + (u >> 10)) + hex(0xDC00 + (u & 0x3FF))
            case _ where escape: out += hex(v)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    mutating func space() -> String { ["", "", " ", "\n  ", "\t"].randomElement(using: &rng)! }

    mutating func int(_ range: ClosedRange<Int64>) -> Int64 {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: range.lowerBound
        case 1: range.upperBound
        default: Int64.random(in: range, using: &rng)
        }
    }

    /// An ignorable value with some nesting.
    mutating func junk(depth: Int = 0) -> String {
        switch Int.random(in: 0..<(depth > 2 ? 5 : 7), using: &rng) {
        case 0: return "null"
        case 1: return Bool.random(using: &rng) ? "true" : "false"
        case 2: return String(Int.random(in: -1000...1000, using: &rng))
        case 3: return ["1.5", "-0.25e3", "6E-2", "0"].randomElement(using: &rng)!
        case 4: return literal(text())
        case 5: return "[" + (0..<Int.random(in: 0...3, using: &rng)).map { _ in junk(depth: depth + 1) }.joined(separator: ",") + "]"
        default:
            return "{" + (0..<Int.random(in: 0...3, using: &rng)).map { k in "\"j\(k)\":" + junk(depth: depth + 1) }
                .joined(separator: ",") + "}"
        }
    }

    /// An object of the given members in random order with random unknown members and whitespace.
    mutating func object(_ members: [(String, String)]) -> String {
        var all = members
        for k in 0..<Int.random(in: 0...2, using: &rng) { all.append(("unknown_\(k)", junk())) }
        all.shuffle(using: &rng)
        let body = all.map { (key, value) in space() + literal(key) + space() + ":" + space() + value + space() }
        return "{" + body.joined(separator: ",") + "}"
    }

    /// A string member that is optional: sometimes absent, sometimes null.
    mutating func optionalString(_ key: String, into members: inout [(String, String)]) {
        switch Int.random(in: 0..<3, using: &rng) {
        case 0: break
        case 1: members.append((key, "null"))
        default: members.append((key, literal(text())))
        }
    }

    mutating func timestamp() -> String {
        if Bool.random(using: &rng) { return String(Int64.random(in: 0...99_999_999_999_999, using: &rng)) }
        let fraction = ["", ".5", ".123", ".123456", ".000000001"].randomElement(using: &rng)!
        let zone = ["Z", "z", "+02:00", "-07:30"].randomElement(using: &rng)!
        let day = Int.random(in: 1...28, using: &rng)
        let hour = Int.random(in: 0...23, using: &rng)
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\"20\(two(Int.random(in: 0...99, using: &rng)))-\(two(Int.random(in: 1...12, using: &rng)))-\(two(day))"
            + "T\(two(hour)):\(two(Int.random(in: 0...59, using: &rng))):\(two(Int.random(in: 0...59, using: &rng)))"
            + "\(fraction)\(zone)\""
    }
}

/// The reference: Foundation's JSONSerialization reading of the same bytes, mapped to records by hand.
enum ReferenceReader {
    static func object(_ bytes: [UInt8]) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(bytes), options: []) as! [String: Any]
    }

    static func string(_ v: Any?) -> String? { v is NSNull ? nil : v as? String }
    static func int(_ v: Any?) -> Int64? { v is NSNull ? nil : (v as? NSNumber)?.int64Value }
    static func time(_ v: Any?) -> Int64? {
        if let s = string(v) { return Timestamp.parse(s) }
        return int(v)  // the generator only writes millisecond-range integers
    }

    static func record(_ o: [String: Any], kind: RecordKind, snake: Bool) -> BillingRecord? {
        func k(_ camel: String, _ snakeName: String) -> Any? { o[snake ? snakeName : camel] }
        switch kind {
        case .ledger:
            guard let id = string(k("id", "id")), let userId = string(k("userId", "user_id")),
                let seq = int(k("seq", "seq")), let type = string(k("type", "type")).flatMap(LedgerType.init),
                let amount = int(k("amount", "amount")), let balance = int(k("balanceAfter", "balance_after")),
                let created = time(k("createdAt", "created_at"))
            else { return nil }
            return .ledger(
                LedgerRow(
                    id: id, userId: userId, seq: seq, type: type, amount: amount, balanceAfter: balance,
                    stripeEventId: string(k("stripeEventId", "stripe_event_id")),
                    stripePaymentIntentId: string(k("stripePaymentIntentId", "stripe_payment_intent_id")),
                    stripeInvoiceId: string(k("stripeInvoiceId", "stripe_invoice_id")),
                    reason: string(k("reason", "reason")), createdAtMs: created))
        case .account:
            guard let userId = string(k("userId", "id")), let role = string(k("role", "role")).flatMap(Role.init),
                let tier = string(k("tier", "tier")).flatMap(Tier.init), let credits = int(k("credits", "credits")),
                let updated = time(k("updatedAt", "updated_at"))
            else { return nil }
            let unlimited = k("unlimitedCredits", "unlimited_credits")
            return .account(
                AccountSnapshot(
                    userId: userId, role: role, tier: tier, credits: credits,
                    unlimitedCredits: unlimited is NSNull ? false : (unlimited as? Bool) ?? false,
                    stripeCustomerId: string(k("stripeCustomerId", "stripe_customer_id")),
                    stripeSubscriptionId: string(k("stripeSubscriptionId", "stripe_subscription_id")),
                    subscriptionStatus: string(k("subscriptionStatus", "subscription_status")),
                    updatedAtMs: updated, version: int(k("version", "version"))))
        case .webhook:
            guard let eventId = string(k("eventId", "event_id")) else { return nil }
            return .webhook(
                WebhookRecord(
                    eventId: eventId, type: string(k("type", "type")),
                    stripePaymentIntentId: string(k("stripePaymentIntentId", "stripe_payment_intent_id")),
                    stripeInvoiceId: string(k("stripeInvoiceId", "stripe_invoice_id")),
                    processedAtMs: time(k("processedAt", "processed_at")),
                    source: string(k("source", "source")) ?? "stripe"))
        case .planGate:
            guard let feature = string(k("feature", "feature")), let tiers = k("allowedTiers", "allowed_tiers") as? [Any],
                let updated = time(k("updatedAt", "updated_at"))
            else { return nil }
            return .planGate(
                PlanGate(
                    feature: feature, allowedTiers: Set(tiers.compactMap { ($0 as? String).flatMap(Tier.init) }),
                    updatedAtMs: updated))
        case .stripe:
            return nil  // Stripe events have tests of their own (DecodingStripeEventTests).
        }
    }
}

@Suite("RecordDecoder agrees with JSONSerialization")
struct DecodingDifferentialTests {
    typealias F = DecodingFixtures

    /// Random members of one record kind, in camelCase or snake_case.
    static func members(_ kind: RecordKind, snake: Bool, _ w: inout RandomJSONWriter) -> [(String, String)] {
        func n(_ camel: String, _ snakeName: String) -> String { snake ? snakeName : camel }
        var m: [(String, String)] = []
        switch kind {
        case .ledger:
            m.append((n("id", "id"), w.literal(w.text())))
            m.append((n("userId", "user_id"), w.literal(w.text())))
            m.append((n("seq", "seq"), String(w.int(1...Int64.max))))
            m.append((n("type", "type"), w.literal(LedgerType.allCases.randomElement(using: &w.rng)!.rawValue)))
            m.append((n("amount", "amount"), String(w.int(Int64.min...Int64.max))))
            m.append((n("balanceAfter", "balance_after"), String(w.int(-1_000_000...1_000_000))))
            w.optionalString(n("stripeEventId", "stripe_event_id"), into: &m)
            w.optionalString(n("stripePaymentIntentId", "stripe_payment_intent_id"), into: &m)
            w.optionalString(n("stripeInvoiceId", "stripe_invoice_id"), into: &m)
            w.optionalString(n("reason", "reason"), into: &m)
            m.append((n("createdAt", "created_at"), w.timestamp()))
        case .account:
            m.append((n("userId", "id"), w.literal(w.text())))
            m.append((n("role", "role"), w.literal(Role.allCases.randomElement(using: &w.rng)!.rawValue)))
            m.append((n("tier", "tier"), w.literal(Tier.allCases.randomElement(using: &w.rng)!.rawValue)))
            m.append((n("credits", "credits"), String(w.int(-5_000_000_000...5_000_000_000))))
            switch Int.random(in: 0..<4, using: &w.rng) {
            case 0: break
            case 1: m.append((n("unlimitedCredits", "unlimited_credits"), "null"))
            default: m.append((n("unlimitedCredits", "unlimited_credits"), Bool.random(using: &w.rng) ? "true" : "false"))
            }
            w.optionalString(n("stripeCustomerId", "stripe_customer_id"), into: &m)
            w.optionalString(n("stripeSubscriptionId", "stripe_subscription_id"), into: &m)
            w.optionalString(n("subscriptionStatus", "subscription_status"), into: &m)
            m.append((n("updatedAt", "updated_at"), w.timestamp()))
            if Bool.random(using: &w.rng) { m.append(("version", String(w.int(0...Int64.max)))) }
        case .webhook:
            m.append((n("eventId", "event_id"), w.literal(w.text())))
            w.optionalString("type", into: &m)
            w.optionalString(n("stripePaymentIntentId", "stripe_payment_intent_id"), into: &m)
            w.optionalString(n("stripeInvoiceId", "stripe_invoice_id"), into: &m)
            if Bool.random(using: &w.rng) { m.append((n("processedAt", "processed_at"), w.timestamp())) }
            if Bool.random(using: &w.rng) { m.append(("source", w.literal(["stripe", "backfill"].randomElement(using: &w.rng)!))) }
        case .planGate:
            m.append(("feature", w.literal(w.text())))
            let tiers = (0..<Int.random(in: 0...4, using: &w.rng)).map { _ in
                w.literal(Tier.allCases.randomElement(using: &w.rng)!.rawValue)
            }
            m.append((n("allowedTiers", "allowed_tiers"), "[" + tiers.joined(separator: w.space() + "," + w.space()) + "]"))
            m.append((n("updatedAt", "updated_at"), w.timestamp()))
        case .stripe:
            break
        }
        return m
    }

    /// The reference reads any string; the decoder refuses what breaks the contract's input limits
    /// (control characters in identifiers, empty or long strings). True when both agree it is refused.
    static func refusedByLimits(_ expected: BillingRecord, _ actual: DecodeOutcome) -> Bool {
        guard DecoderFuzzTests.limitViolation(expected, checkTime: false) != nil else { return false }
        guard case .invalid = actual else {
            Issue.record("a record breaking the input limits decoded: \(expected)")
            return true
        }
        return true
    }

    static func topic(_ kind: RecordKind) -> String {
        switch kind {
        case .ledger: F.topics.ledger
        case .account: F.topics.accounts
        case .webhook: F.topics.webhooks
        case .planGate: F.topics.planGates
        case .stripe: F.topics.stripe
        }
    }

    @Test("plain rows: 2 000 random valid rows per kind decode as JSONSerialization reads them", arguments: RecordKind.allCases.filter { $0 != .stripe })
    func plainRows_agreeWithJSONSerialization(kind: RecordKind) throws {
        var w = RandomJSONWriter(rng: SplitMix64(state: 0xD1FF_0000 + UInt64(RecordKind.allCases.firstIndex(of: kind)!)))
        for i in 0..<2000 {
            let json = w.object(Self.members(kind, snake: false, &w))
            let bytes = Array(json.utf8)
            let object = try ReferenceReader.object(bytes)
            let expected = try #require(ReferenceReader.record(object, kind: kind, snake: false))
            let actual = F.decoder.decode(bytes, as: kind)
            if Self.refusedByLimits(expected, actual) { continue }
            #expect(actual == .record(expected), "row \(i): \(json)")
            if actual != .record(expected) { return }
        }
    }

    @Test("Debezium rows: 2 000 random events per kind decode as JSONSerialization reads their after row", arguments: RecordKind.allCases.filter { $0 != .stripe })
    func debeziumRows_agreeWithJSONSerialization(kind: RecordKind) throws {
        var w = RandomJSONWriter(rng: SplitMix64(state: 0xDEB0_0000 + UInt64(RecordKind.allCases.firstIndex(of: kind)!)))
        for i in 0..<2000 {
            let after = w.object(Self.members(kind, snake: true, &w))
            var event = w.object([
                ("before", "null"), ("after", after), ("op", w.literal(["c", "u", "r"].randomElement(using: &w.rng)!)),
                ("source", #"{"connector": "postgresql", "table": "t", "lsn": 1}"#), ("ts_ms", "1763632800123"),
            ])
            if Bool.random(using: &w.rng) { event = w.object([("schema", w.junk()), ("payload", event)]) }
            let bytes = Array(event.utf8)
            var object = try ReferenceReader.object(bytes)
            if let payload = object["payload"] as? [String: Any] { object = payload }
            let afterObject = try #require(object["after"] as? [String: Any])
            let expected = try #require(ReferenceReader.record(afterObject, kind: kind, snake: true))
            let actual = F.decoder.decode(InboundRecord(topic: Self.topic(kind), partition: 0, offset: 0, key: nil, value: bytes))
            if Self.refusedByLimits(expected, actual) { continue }
            #expect(actual == .record(expected), "row \(i): \(event)")
            if actual != .record(expected) { return }
        }
    }
}
