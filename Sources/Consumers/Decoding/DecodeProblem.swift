/// Why a value could not be decoded, as thrown inside the decoder.
///
/// Field problems carry no field name: the object loop that knows which key it was reading adds it, so the
/// hot path never builds names or messages.
enum DecodeProblem: Error {
    /// The input is not JSON (or not JSON we accept, like `NaN`): final, whatever else is wrong with it.
    case syntax(String)
    /// A complete, human-readable reason about the content; a syntax error later in the input wins over it.
    case reason(String)
    /// A problem with one field's value; the caller names the field.
    case field(FieldProblem)

    /// The reason, naming `field` when the problem is about a field's value.
    func reason(field: String) -> String {
        switch self {
        case .syntax(let text), .reason(let text): text
        case .field(let problem): problem.message(field: field)
        }
    }
}

/// A problem with one field's value.
enum FieldProblem {
    case wrongType(expected: String, found: String)
    case notInteger(String)
    case outOfRange(String)
    case nonFinite
    case base64Numeric(String)
    case badTimestamp(String)
    case unknownValue(String, allowed: String)
    case invalidUTF8
    case nullElement

    func message(field: String) -> String {
        switch self {
        case .wrongType(let expected, let found):
            "field '\(field)' must be \(expected), not \(found)"
        case .notInteger(let text):
            "field '\(field)' must be an integer, not a fraction or exponent (\(text))"
        case .outOfRange(let text):
            "field '\(field)' is outside the signed 64-bit integer range (\(text))"
        case .nonFinite:
            "field '\(field)' must be a finite integer (NaN and Infinity are not JSON)"
        case .base64Numeric(let text):
            "field '\(field)' arrived as the base64 string \"\(text)\": a Debezium NUMERIC/DECIMAL column sent with "
                + "decimal.handling.mode=precise; declare the column bigint as in the contract's tables, "
                + "or set the connector's decimal.handling.mode=string"
        case .badTimestamp(let text):
            "field '\(field)' is not an RFC 3339 timestamp or epoch integer: \"\(text)\""
        case .unknownValue(let text, let allowed):
            "field '\(field)' has unknown value \"\(text)\" (expected one of \(allowed))"
        case .invalidUTF8:
            "field '\(field)' is not valid UTF-8"
        case .nullElement:
            "field '\(field)' must not contain null"
        }
    }
}

/// Shortens text quoted in a reason, so a huge bad value does not make a huge dead letter.
func quoted(_ text: String, limit: Int = 64) -> String {
    text.count <= limit ? text : String(text.prefix(limit)) + "…"
}
