import Consumers
import Foundation
import Shared
import Testing

/// A seeded property test over random bytes and mutated valid records: every input is either decoded
/// (and then within the contract's limits) or refused with a reason; nothing traps. Bounded in time and
/// count; `ASSURE_FUZZ_SEED` replays one seed, `ASSURE_FUZZ_ITERATIONS` runs longer.
@Suite("Decoder fuzzing")
struct DecoderFuzzTests {
    static let topics = Topics()
    static let decoder = RecordDecoder(topics: topics)
    static let nowMs = Timestamp.parse("2026-11-20T10:00:00Z")!

    static let seeds: [(String, String)] = [
        (topics.ledger, #"{"id": "ctx_1", "userId": "u_1", "seq": 42, "type": "PURCHASE", "amount": 500, "balanceAfter": 1200, "stripeEventId": "evt_1", "stripePaymentIntentId": "pi_1", "stripeInvoiceId": null, "reason": "r", "createdAt": "2026-11-20T10:00:00Z"}"#),
        (topics.ledger, #"{"schema": {}, "payload": {"before": null, "after": {"id": "c", "user_id": "u", "seq": "7", "type": "USAGE", "amount": -5, "balance_after": 1, "created_at": 1763632800000}, "op": "c", "source": {"db": "x"}, "ts_ms": 1}}"#),
        (topics.accounts, #"{"userId": "u_1", "role": "USER", "tier": "PRO", "credits": 1200, "unlimitedCredits": false, "stripeCustomerId": "cus_1", "stripeSubscriptionId": "sub_1", "subscriptionStatus": "active", "updatedAt": "2026-11-20T10:00:00.123Z", "version": 17}"#),
        (topics.webhooks, #"{"eventId": "evt_1", "type": "invoice.paid", "stripePaymentIntentId": null, "stripeInvoiceId": "in_1", "processedAt": "2026-11-20T10:00:00+02:00", "source": "stripe"}"#),
        (topics.planGates, #"{"feature": "advanced_exports", "allowedTiers": ["PRO", "TEAM"], "updatedAt": "2026-11-20T10:00:00Z"}"#),
        (topics.commands, #"{"commandId": "cmd_1", "issueId": "credit-balance:u_1", "reason": "Reconciled", "actor": {"id": "admin_7", "role": "ADMIN"}, "requestedAt": "2026-11-20T10:00:00Z", "dryRun": false, "action": "repair", "signature": "abc"}"#),
    ]

    /// Fragments that reach the corners: escapes, NULs, control characters, huge and odd numbers.
    static let fragments: [String] = [
        #"\u0000"#, "\u{0}", #"\ud800"#, #"\udc00\ud800"#, #"\""#, "\\", "\u{1}", "\u{7F}", "\n", "é", "💥",
        "9223372036854775807", "-9223372036854775808", "99999999999999999999", "1e400", "-0", "0.5", "NaN",
        "-Infinity", "null", "true", "[]", "{}", "[[[[[[[[", "{\"a\":", ",", ":", "\"", "}", "]",
        "\"2026-02-30T25:61:61Z\"", "\"9999-12-31T23:59:59Z\"", String(repeating: "x", count: 300),
    ]

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

    static func mutate(_ input: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0 where !bytes.isEmpty: bytes[position] = UInt8.random(in: 0...255, using: &rng)
            case 1: bytes.insert(contentsOf: fragments.randomElement(using: &rng)!.utf8, at: position)
            case 2 where !bytes.isEmpty:
                bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &rng)))
            case 3: bytes = Array(bytes.prefix(position))
            case 4 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...40, using: &rng))
                bytes.insert(contentsOf: bytes[position..<end], at: Int.random(in: 0...bytes.count, using: &rng))
            default:
                // Replace a string value's content with a fragment.
                if let quote = bytes[position...].firstIndex(of: UInt8(ascii: "\"")) {
                    bytes.insert(contentsOf: fragments.randomElement(using: &rng)!.utf8, at: quote + 1)
                }
            }
        }
        return bytes
    }

    static func randomBytes(_ rng: inout SplitMix64) -> [UInt8] {
        (0..<Int.random(in: 0...64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    /// Checks one input; returns a description of what went wrong, or nil.
    static func check(topic: String, _ bytes: [UInt8]) -> String? {
        if topic == topics.commands {
            switch CommandDecoder.decode(bytes) {
            case .success(let command):
                for (value, field) in [(command.commandId, "commandId"), (command.issueId, "issueId"), (command.actor.id, "actor.id")] {
                    if let problem = InputLimits.identifierProblem(value, field: field) { return "decoded despite: \(problem)" }
                }
                for (value, field) in [(command.reason, "reason"), (command.requestedAt, "requestedAt"), (command.signature, "signature")] {
                    if let problem = InputLimits.textProblem(value, field: field) { return "decoded despite: \(problem)" }
                }
            case .failure(let error):
                if error.reason.isEmpty { return "refused without a reason" }
                if let id = error.commandId, InputLimits.identifierProblem(id, field: "commandId") != nil {
                    return "echoed an unusable commandId"
                }
            }
            return nil
        }
        let record = InboundRecord(topic: topic, partition: 0, offset: 0, key: nil, value: bytes)
        switch decoder.decode(record, nowMs: nowMs) {
        case .invalid(let reason): return reason.isEmpty ? "refused without a reason" : nil
        case .skipped: return nil
        case .record(let billing): return limitViolation(billing)
        }
    }

    static func limitViolation(_ billing: BillingRecord, checkTime: Bool = true) -> String? {
        var identifiers: [String?] = []
        var texts: [String?] = []
        switch billing {
        case .ledger(let row):
            identifiers = [row.id, row.userId, row.stripeEventId, row.stripePaymentIntentId, row.stripeInvoiceId]
            texts = [row.reason]
        case .account(let account):
            identifiers = [account.userId, account.stripeCustomerId, account.stripeSubscriptionId]
            texts = [account.subscriptionStatus]
        case .webhook(let webhook):
            identifiers = [webhook.eventId, webhook.stripePaymentIntentId, webhook.stripeInvoiceId]
            texts = [webhook.type, webhook.source]
        case .planGate(let gate):
            identifiers = [gate.feature]
        default:
            // Stripe events are checked by their own decoder's tests.
            break
        }
        for value in identifiers.compactMap({ $0 }) {
            if let problem = InputLimits.identifierProblem(value, field: "?") { return "decoded despite: \(problem)" }
        }
        for value in texts.compactMap({ $0 }) {
            if let problem = InputLimits.textProblem(value, field: "?") { return "decoded despite: \(problem)" }
        }
        if checkTime, let time = billing.eventTimeMs, time > nowMs + 86_400_000 { return "decoded a future event time" }
        return nil
    }

    @Test("random bytes and mutated valid records are decoded within the limits or refused with a reason")
    func fuzzDecoders() {
        typealias F = DecoderFuzzTests
        let env = ProcessInfo.processInfo.environment
        let seed = env["ASSURE_FUZZ_SEED"].flatMap(UInt64.init) ?? 0x5EED_1313
        let iterations = env["ASSURE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 40_000
        // Bounded in time as well, so a loaded CI machine does not stretch the run.
        let deadline = ContinuousClock.now + .seconds(60)
        var rng = SplitMix64(state: seed)
        var failures: [String] = []
        var decoded = 0
        var ran = 0
        for i in 0..<iterations {
            if i % 512 == 0, ContinuousClock.now > deadline { break }
            let (topic, template) = F.seeds.randomElement(using: &rng)!
            let bytes = Int.random(in: 0..<10, using: &rng) == 0 ? F.randomBytes(&rng) : F.mutate(Array(template.utf8), &rng)
            if let failure = F.check(topic: topic, bytes) {
                failures.append("\(failure) for \(String(decoding: bytes.prefix(200), as: UTF8.self))")
            }
            if topic != F.topics.commands, case .record = F.decoder.decode(
                InboundRecord(topic: topic, partition: 0, offset: 0, key: nil, value: bytes), nowMs: F.nowMs)
            {
                decoded += 1
            }
            ran += 1
        }
        #expect(failures.isEmpty, "seed \(seed): \(failures.prefix(5))")
        // The mutations must leave some records decodable, or the test only exercises refusals.
        #expect(decoded > ran / 50, "only \(decoded) of \(ran) inputs decoded")
        // The unmutated templates decode.
        for (topic, template) in F.seeds where topic != F.topics.commands {
            let record = InboundRecord(topic: topic, partition: 0, offset: 0, key: nil, value: Array(template.utf8))
            guard case .record = F.decoder.decode(record, nowMs: F.nowMs) else {
                Issue.record("template for \(topic) did not decode")
                continue
            }
        }
    }
}
