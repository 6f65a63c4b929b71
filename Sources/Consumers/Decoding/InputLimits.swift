/// The contract's limits on the string fields an input record is read for (*Limits on input*).
///
/// Identifier fields are 1–200 bytes of UTF-8 without control characters (U+0000–U+001F, U+007F);
/// every other string read is at most 2 000 bytes and never contains U+0000. Fields that are not read
/// are not checked. The checks return a problem rather than throw, so a decoder can decide when a
/// field matters (the Stripe decoder learns an event's type only at its end).
enum InputLimits {
    static let maxIdentifierBytes = 200
    static let maxTextBytes = 2000

    /// Why `value` is not a usable identifier, `nil` when it is.
    static func identifierProblem(_ value: String, field: String) -> String? {
        let count = value.utf8.count
        guard count >= 1 else { return "field '\(field)' must not be empty" }
        guard count <= maxIdentifierBytes else {
            return "field '\(field)' is \(count) bytes, over the limit of \(maxIdentifierBytes) bytes for identifiers"
        }
        for byte in value.utf8 where byte < 0x20 || byte == 0x7F {
            return "field '\(field)' must not contain control characters (found 0x\(String(byte, radix: 16)))"
        }
        return nil
    }

    /// Why `value` is not a usable text field, `nil` when it is.
    static func textProblem(_ value: String, field: String) -> String? {
        let count = value.utf8.count
        guard count <= maxTextBytes else {
            return "field '\(field)' is \(count) bytes, over the limit of \(maxTextBytes) bytes"
        }
        for byte in value.utf8 where byte == 0 { return "field '\(field)' must not contain U+0000" }
        return nil
    }

    /// Why an event time is unusable: more than `maxFutureMs` ahead of `nowMs`.
    static func futureProblem(_ eventMs: Int64, nowMs: Int64?, maxFutureMs: Int64, field: String) -> String? {
        guard let nowMs else { return nil }
        let (limit, overflow) = nowMs.addingReportingOverflow(maxFutureMs)
        guard !overflow, eventMs > limit else { return nil }
        return "\(field) is in the future (\((eventMs - nowMs) / 1000) s ahead of the worker's clock, "
            + "more than ASSURE_MAX_FUTURE_S = \(maxFutureMs / 1000))"
    }
}
