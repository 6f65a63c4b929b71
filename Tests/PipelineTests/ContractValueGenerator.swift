import Foundation
import Shared

/// Seeded random contract values for the JSON differential tests: strings with every kind of
/// character that needs escaping (or must not be escaped), nil and non-nil optionals, and
/// free-form evidence with every kind of number.
struct ContractValueGenerator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    /// Pieces a string is made of: quotes, backslashes, slashes, every control character, DEL,
    /// non-ASCII (2-, 3- and 4-byte UTF-8, non-BMP emoji, a combining mark, U+2028).
    static let pieces: [String] =
        ["a", "Z", "0", " ", "\"", "\\", "/", "\\/", "\u{7F}", "é", "ß", "€", "中文", "😀", "👩‍👩‍👧", "e\u{301}", "\u{2028}",
         "\u{10FFFF}", "user_123", "cus_1", "2026-11-20T10:00:00Z", "{", "}", "[", "]", ":", ","]
        + (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }

    /// Doubles whose text is worth checking: tiny, huge, negative zero, integral (Foundation drops `.0`).
    static let doubles: [Double] = [
        0.1, 1e300, -1e300, -0.0, 0.0, 1.0, -1.0, 2.5, 1e16, 1e15, 123456789.0, 5e-324, 1.7976931348623157e308,
        -1.5e-7, 3.141592653589793, 9007199254740993.0, 9.223372036854776e18, 1e19, 0.30000000000000004,
    ]

    static let ints: [Int64] = [0, 1, -1, 9, 10, -10, 42, 1_000_000, .max, .min, .max - 1, .min + 1, 4_294_967_296]

    mutating func chance(_ p: Double) -> Bool { rng.chance(p) }

    mutating func string(maxPieces: Int = 8) -> String {
        let count = Int.random(in: 0...maxPieces, using: &rng)
        return (0..<count).map { _ in Self.pieces.randomElement(using: &rng)! }.joined()
    }

    mutating func optionalString() -> String? { chance(0.4) ? nil : string() }

    mutating func int() -> Int64 {
        chance(0.5) ? Self.ints.randomElement(using: &rng)! : Int64.random(in: .min ... .max, using: &rng)
    }

    mutating func double() -> Double {
        chance(0.6)
            ? Self.doubles.randomElement(using: &rng)!
            : Double(bitPattern: UInt64.random(in: 0 ... .max, using: &rng) & 0x7FEF_FFFF_FFFF_FFFF)
                * (chance(0.5) ? 1 : -1)
    }

    /// A free-form value; objects with at most `maxKeys` keys (1 makes their key order deterministic).
    mutating func json(depth: Int = 3, maxKeys: Int = 5) -> JSONValue {
        let kind = Int.random(in: 0...(depth > 0 ? 6 : 4), using: &rng)
        switch kind {
        case 0: return .null
        case 1: return .bool(chance(0.5))
        case 2: return .int(int())
        case 3: return chance(0.5) ? .double(double()) : .int(int())
        case 4: return .string(string())
        case 5: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in json(depth: depth - 1, maxKeys: maxKeys) })
        default:
            var fields: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...maxKeys, using: &rng) {
                fields[string(maxPieces: 3)] = json(depth: depth - 1, maxKeys: maxKeys)
            }
            return .object(fields)
        }
    }

    mutating func issueEvent() -> IssueEvent {
        let check = CheckKind.allCases.randomElement(using: &rng)!
        var event = IssueEvent(
            issueId: string(), version: int(), status: chance(0.5) ? .open : .resolved, check: check,
            userId: optionalString(), title: string(), evidence: chance(0.1) ? .null : .object(objectFields()),
            repair: chance(0.4)
                ? nil : RepairSuggestion(action: RepairAction.allCases.randomElement(using: &rng)!, description: string()),
            firstSeenAt: string(), lastSeenAt: string(), resolvedAt: optionalString(),
            resolution: chance(0.5) ? nil : (chance(0.5) ? .repaired : .selfHealed),
            explanation: chance(0.5)
                ? nil : Explanation(note: string(), actor: string(), commandId: string(), at: string()),
            atRisk: AtRisk(
                credits: chance(0.4) ? nil : int(),
                direction: [RiskDirection.leakage, .customerHarm, .unknown].randomElement(using: &rng)!),
            acknowledgement: chance(0.5)
                ? nil : Acknowledgement(actor: string(), note: string(), commandId: string(), at: string()),
            snoozedUntil: optionalString(), resurfaced: chance(0.3), cause: cause())
        // The category, severity and flag follow the check; nothing else in the JSON does.
        if chance(0.1) { event.revenueImpacting.toggle() }
        return event
    }

    mutating func objectFields() -> [String: JSONValue] {
        var fields: [String: JSONValue] = [:]
        for _ in 0..<Int.random(in: 0...6, using: &rng) { fields[string(maxPieces: 3)] = json() }
        return fields
    }

    mutating func cause() -> IssueCause {
        switch Int.random(in: 0...3, using: &rng) {
        case 0: .record(topic: string(), partition: Int32.random(in: .min ... .max, using: &rng), offset: int())
        case 1: .command(commandId: string())
        case 2: .bootstrap(table: string())
        default: .timer
        }
    }

    mutating func alertEvent() -> AlertEvent {
        var alert = AlertEvent(
            alertId: string(), fingerprint: string(), severity: Severity.allCases.randomElement(using: &rng)!,
            issueIds: (0..<Int.random(in: 0...5, using: &rng)).map { _ in string() }, summary: string(),
            emittedAt: string(), dedupWindowSeconds: int(), windowExpiresAt: string(), suppressedSinceLastAlert: int())
        alert.issueCount = Int(truncatingIfNeeded: int())
        alert.issueIdsTruncated = chance(0.5)
        alert.atRiskCredits = int()
        return alert
    }

    mutating func deadLetter() -> DeadLetter {
        DeadLetter(
            topic: string(), partition: Int32.random(in: .min ... .max, using: &rng), offset: int(),
            key: optionalString(), keyBase64: optionalString(), payloadBase64: optionalString(),
            payloadTruncated: chance(0.5), error: string(), receivedAt: string())
    }

    mutating func repairResult() -> RepairResult {
        RepairResult(
            commandId: chance(0.2) ? "" : string(), issueId: string(),
            outcome: [RepairOutcome.applied, .dryRun, .explained, .acknowledged, .snoozed, .rejected, .duplicate]
                .randomElement(using: &rng)!,
            action: optionalString(),
            rejection: chance(0.5)
                ? nil
                : [RepairRejection.invalid, .invalidSignature, .unauthorized, .expired, .notFound, .notOpen,
                   .notRepairable, .stale, .failed].randomElement(using: &rng)!,
            detail: optionalString(),
            audit: (0..<Int.random(in: 0...3, using: &rng)).map { _ in AuditReference(table: string(), id: string()) },
            plan: chance(0.4) ? nil : json(), processedAt: string())
    }
}

extension JSONValue {
    /// What `JSONDecoder` makes of this value as `JSONEncoder` writes it: a double whose decimal
    /// text is a whole number (`1`, `-7.453941885401481e+17`) comes back as `.int`.
    var afterRoundTrip: JSONValue {
        try! JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(self))
    }
}
