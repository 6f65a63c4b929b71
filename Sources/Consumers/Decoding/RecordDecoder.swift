import Shared

/// Decodes the values of the five input topics into ``BillingRecord``s (Stripe events: ``StripeEventDecoder``).
///
/// Accepts the contract's camelCase JSON and Debezium PostgreSQL change events
/// (`{"before":…,"after":…,"op":…,"source":…,"ts_ms":…}`, with or without the `{"schema":…,"payload":…}`
/// wrapper) whose `after` row has the snake_case columns of the contract's tables. Op `c`, `u` and `r`
/// apply `after`; `d` and tombstones are skipped.
///
/// A top-level object is read as a Debezium event when it has a `payload`, `op`, `after` or `before` key;
/// otherwise it is a plain record. Unknown fields are ignored, a missing optional field means `null`, and an
/// explicit `null` for a required field is invalid. When a key repeats, the last one wins.
///
/// The decoder scans the UTF-8 bytes once with ``JSONScanner``: no Foundation, no tree, no `String` per key.
public struct RecordDecoder: Sendable {
    public let topics: Topics
    /// Values larger than this are refused before parsing (default 1 MiB).
    public let maxValueBytes: Int
    /// How far an event time may lie ahead of the clock passed to `decode` (`ASSURE_MAX_FUTURE_S`).
    public let maxFutureMs: Int64

    private let ledgerTopic: String
    private let accountsTopic: String
    private let webhooksTopic: String
    private let planGatesTopic: String
    private let stripeTopic: String

    public init(
        topics: Topics = Topics(), maxValueBytes: Int = 1 << 20,
        maxFutureMs: Int64 = InputLimits.defaultMaxFutureSeconds * 1000
    ) {
        self.topics = topics
        self.maxValueBytes = maxValueBytes
        self.maxFutureMs = maxFutureMs
        stripeTopic = topics.stripe
        ledgerTopic = topics.ledger
        accountsTopic = topics.accounts
        webhooksTopic = topics.webhooks
        planGatesTopic = topics.planGates
    }

    /// The record kind a topic carries, `nil` for a topic that is not one of the five inputs.
    public func kind(ofTopic topic: String) -> RecordKind? {
        if topic == ledgerTopic { return .ledger }
        if topic == accountsTopic { return .account }
        if topic == webhooksTopic { return .webhook }
        if topic == planGatesTopic { return .planGate }
        if topic == stripeTopic { return .stripe }
        return nil
    }

    /// Decodes one inbound record; its topic decides the kind. With `nowMs` (the worker's clock), an event
    /// time more than `maxFutureMs` ahead of it makes the record invalid.
    public func decode(_ record: InboundRecord, nowMs: Int64? = nil) -> DecodeOutcome {
        guard let kind = kind(ofTopic: record.topic) else {
            return .invalid("topic '\(record.topic)' is not an input topic (expected one of \(topics.inputs.joined(separator: ", ")))")
        }
        guard let value = record.value else { return .skipped(.tombstone) }
        return decode(value, as: kind, nowMs: nowMs)
    }

    /// Decodes one message value as `kind`.
    public func decode(_ value: [UInt8], as kind: RecordKind, nowMs: Int64? = nil) -> DecodeOutcome {
        value.withUnsafeBufferPointer { decode($0, as: kind, nowMs: nowMs) }
    }

    /// Decodes one message value as `kind`, from bytes lent by the caller.
    public func decode(_ value: UnsafeBufferPointer<UInt8>, as kind: RecordKind, nowMs: Int64? = nil) -> DecodeOutcome {
        let notAfterMs = nowMs.map { InputLimits.latestEventTime(nowMs: $0, maxFutureMs: maxFutureMs) } ?? Int64.max
        guard value.count <= maxValueBytes else {
            return .invalid("value is \(value.count) bytes, over the limit of \(maxValueBytes) bytes")
        }
        do throws(DecodeProblem) {
            switch kind {
            case .stripe: return StripeEventDecoder.decode(value, nowMs: nowMs, maxFutureMs: maxFutureMs)
            case .ledger: return try Self.decodeDocument(value, LedgerFields.self, notAfterMs)
            case .account: return try Self.decodeDocument(value, AccountFields.self, notAfterMs)
            case .webhook: return try Self.decodeDocument(value, WebhookFields.self, notAfterMs)
            case .planGate: return try Self.decodeDocument(value, PlanGateFields.self, notAfterMs)
            }
        } catch {
            if case .syntax(let reason) = error { return .invalid(reason) }
            // A content error found before a later syntax error: "not JSON" is the more useful reason.
            if let syntax = JSONScanner.syntaxProblem(in: value) { return .invalid(syntax.reason(field: "")) }
            return .invalid(error.reason(field: ""))
        }
    }

    // MARK: - Document and envelope

    private static func decodeDocument<F: RecordFields>(
        _ value: UnsafeBufferPointer<UInt8>, _ type: F.Type, _ notAfterMs: Int64
    ) throws(DecodeProblem) -> DecodeOutcome {
        var s = JSONScanner(value)
        s.skipWhitespace()
        guard !s.isAtEnd else { throw .syntax("not valid JSON: the value is empty") }
        let c = value[s.index]
        guard c == UInt8(ascii: "{") else {
            if let syntax = JSONScanner.syntaxProblem(in: value) { throw syntax }
            throw .reason("value is \(JSONScanner.describe(c)), not a JSON object")
        }
        let outcome = try decodeObject(&s, F.self, inPayload: false, notAfterMs: notAfterMs)
        s.skipWhitespace()
        guard s.isAtEnd else { throw s.unexpected("the end of input after the object") }
        return outcome
    }

    private enum EnvelopeKey: Sendable { case payload, schema, op, after, before, source }

    private static let envelopeKeys = ByteTable<EnvelopeKey>([
        ("payload", .payload), ("schema", .schema), ("op", .op), ("after", .after), ("before", .before),
        ("source", .source),
    ])

    /// Reads one object that is a plain record, a Debezium event, or (top level only) a schema/payload wrapper.
    private static func decodeObject<F: RecordFields>(
        _ s: inout JSONScanner, _ type: F.Type, inPayload: Bool, notAfterMs: Int64
    ) throws(DecodeProblem) -> DecodeOutcome {
        try s.beginObject()
        var plain = F()
        var after: F?
        var op: StringRef?
        var payload: DecodeOutcome?
        var isEvent = false
        var sawSourceObject = false
        // Read the static tables once per object, not once per key.
        let envelopeKeys = Self.envelopeKeys
        let camelCase = F.camelCase
        var hint = 0
        var first = true
        while let key = try s.nextKey(&first) {
            if let envelopeKey = try envelopeKeys.lookup(key, in: s) {
                switch envelopeKey {
                case .payload where !inPayload:
                    switch try s.peekValue() {
                    case UInt8(ascii: "{"):
                        payload = try decodeObject(&s, F.self, inPayload: true, notAfterMs: notAfterMs)
                    case UInt8(ascii: "n"):
                        try s.literal("null")
                        payload = .skipped(.tombstone)
                    case let c:
                        throw .reason("Debezium 'payload' must be an object or null, not \(JSONScanner.describe(c))")
                    }
                    continue
                case .schema where !inPayload:
                    try s.skipValue()
                    continue
                case .op:
                    isEvent = true
                    let c = try s.peekValue()
                    guard c == UInt8(ascii: "\"") else {
                        throw .reason("Debezium 'op' must be a string, not \(JSONScanner.describe(c))")
                    }
                    op = try s.readStringRef()
                    continue
                case .after:
                    isEvent = true
                    switch try s.peekValue() {
                    case UInt8(ascii: "{"):
                        var row = F()
                        try readFields(&row, &s, F.snakeCase)
                        after = row
                    case UInt8(ascii: "n"):
                        try s.literal("null")
                        after = nil
                    case let c:
                        throw .reason("Debezium 'after' must be an object or null, not \(JSONScanner.describe(c))")
                    }
                    continue
                case .before:
                    isEvent = true
                    try s.skipValue()
                    continue
                case .source:
                    // Debezium's `source` block; a webhook's own `source` field is a string.
                    if try s.peekValue() == UInt8(ascii: "{") {
                        sawSourceObject = true
                        try s.skipValue()
                        continue
                    }
                default:
                    break
                }
            }
            try readField(key, into: &plain, &s, camelCase, debezium: false, hint: &hint)
        }

        if let payload { return payload }
        if isEvent {
            guard let op else { throw .reason("Debezium change event has no 'op'") }
            let code = try s.withBytes(of: op) { (p) throws(DecodeProblem) -> UInt8? in p.count == 1 ? p[0] : nil }
            switch code {
            case UInt8(ascii: "d"):
                return .skipped(.delete)
            case UInt8(ascii: "c"), UInt8(ascii: "u"), UInt8(ascii: "r"):
                guard let after else {
                    throw .reason("Debezium change event with op '\(Character(Unicode.Scalar(code!)))' has no 'after' row")
                }
                return .record(try after.finish(F.snakeCase.names, notAfterMs: notAfterMs))
            default:
                let text = (try? s.string(op)).map { quoted($0) } ?? "?"
                throw .reason("unsupported Debezium op \"\(text)\" (expected c, u, r or d)")
            }
        }
        if inPayload { throw .reason("Debezium 'payload' is not a change event: it has no 'op'") }
        if sawSourceObject, F.camelCase.names.contains("source") {
            throw .reason(FieldProblem.wrongType(expected: "a string", found: "an object").message(field: "source"))
        }
        return .record(try plain.finish(F.camelCase.names, notAfterMs: notAfterMs))
    }

    /// Reads a Debezium `after` row.
    private static func readFields<F: RecordFields>(
        _ fields: inout F, _ s: inout JSONScanner, _ table: FieldTable
    ) throws(DecodeProblem) {
        try s.beginObject()
        var hint = 0
        var first = true
        while let key = try s.nextKey(&first) {
            try readField(key, into: &fields, &s, table, debezium: true, hint: &hint)
        }
    }

    /// Reads the value of `key` into its field, or skips it when the key is unknown.
    @inline(__always)
    private static func readField<F: RecordFields>(
        _ key: StringRef, into fields: inout F, _ s: inout JSONScanner, _ table: FieldTable, debezium: Bool,
        hint: inout Int
    ) throws(DecodeProblem) {
        guard let field = try table.keys.lookup(key, in: s, hint: &hint) else {
            try s.skipValue()
            return
        }
        if try s.peekValue() == UInt8(ascii: "n") {
            fields.nulls |= 1 << field
        } else {
            fields.nulls &= ~(1 << field)
        }
        do {
            try fields.read(field, from: &s, debezium: debezium)
        } catch {
            // NaN and Infinity are not JSON, but naming the field says more than "unexpected 'N'".
            if case .field(.nonFinite) = error { throw .syntax(error.reason(field: table.names[field])) }
            throw .reason(error.reason(field: table.names[field]))
        }
    }
}
