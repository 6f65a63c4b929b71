import Shared

/// The contract's limits on input ("Limits on input"), in one place for every decoder.
///
/// No string field may contain U+0000 (PostgreSQL's `text` refuses it, which would refuse the whole
/// batch); identifier fields are 1–200 bytes of UTF-8 without control characters; other strings are at
/// most 2 000 bytes; an event time may lie at most `maxFutureMs` ahead of the worker's clock, so one bad
/// clock cannot move the event-time watermark. Each check answers `nil` when the value is fine, else a
/// reason that names the field.
public enum InputLimits {
    public static let maxIdentifierBytes = 200
    public static let maxTextBytes = 2000
    /// `ASSURE_MAX_FUTURE_S`'s default.
    public static let defaultMaxFutureSeconds: Int64 = 86_400

    /// An identifier field (`id`, `userId`, `eventId`, `commandId`, `actor.id`, Stripe ids, …).
    public static func identifierProblem(_ value: String, field: String) -> String? {
        var count = 0
        var control: UInt8?
        for byte in value.utf8 {
            count += 1
            if byte < 0x20 || byte == 0x7F, control == nil { control = byte }
        }
        if control == 0 { return "field '\(field)' must not contain U+0000" }
        guard count >= 1 else { return "field '\(field)' must not be empty" }
        guard count <= maxIdentifierBytes else {
            return "field '\(field)' is \(count) bytes long, over the limit of \(maxIdentifierBytes) bytes for an identifier"
        }
        if let control {
            return "field '\(field)' must not contain control characters (found U+\(hex4(control)))"
        }
        return nil
    }

    /// Any other string field the contract reads.
    public static func textProblem(_ value: String, field: String) -> String? {
        var count = 0
        var nul = false
        for byte in value.utf8 {
            count += 1
            if byte == 0 { nul = true }
        }
        if nul { return "field '\(field)' must not contain U+0000" }
        guard count <= maxTextBytes else {
            return "field '\(field)' is \(count) bytes long, over the limit of \(maxTextBytes) bytes"
        }
        return nil
    }

    /// An event time against the latest time allowed (`nowMs + maxFutureMs`, see ``latestEventTime``).
    public static func futureProblem(_ eventTimeMs: Int64, field: String, notAfterMs: Int64) -> String? {
        guard eventTimeMs > notAfterMs else { return nil }
        return "\(field) is in the future: \(Timestamp.format(eventTimeMs)) lies more than the allowed "
            + "ASSURE_MAX_FUTURE_S ahead of the worker's clock (latest allowed \(Timestamp.format(notAfterMs)))"
    }

    /// An event time against the worker's clock `nowMs` (nil: not judged) and `ASSURE_MAX_FUTURE_S`
    /// in milliseconds; the reason contains "<field> is in the future".
    public static func futureProblem(_ eventMs: Int64, nowMs: Int64?, maxFutureMs: Int64, field: String) -> String? {
        guard let nowMs else { return nil }
        return futureProblem(eventMs, field: field, notAfterMs: latestEventTime(nowMs: nowMs, maxFutureMs: maxFutureMs))
    }

    /// The latest event time accepted at `nowMs` (saturating, so a huge setting cannot trap).
    public static func latestEventTime(nowMs: Int64, maxFutureMs: Int64) -> Int64 {
        let (sum, overflow) = nowMs.addingReportingOverflow(max(0, maxFutureMs))
        return overflow ? Int64.max : sum
    }

    private static func hex4(_ byte: UInt8) -> String {
        let digits = String(byte, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - digits.count) + digits
    }
}
