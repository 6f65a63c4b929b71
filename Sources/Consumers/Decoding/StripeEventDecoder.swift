import Shared

/// Decodes Stripe Event objects (`billing.stripe.v1`) in one pass over the UTF-8 bytes, like the other
/// inputs: no Foundation, no tree.
///
/// Only `id`, `type`, `created` and `data.object`'s `id`, `customer`, `status`, `subscription`,
/// `billing_reason`, `amount_paid` and `currency` are read; everything else is skipped (but must be
/// JSON). Stripe sends `type` after `data`, so field problems are noted while scanning and raised only
/// once the type says the event is read: events of other types are skipped whatever they hold.
/// Debezium envelopes do not apply to this topic.
enum StripeEventDecoder {
    private enum TopKey: Sendable { case id, type, created, data }
    private enum ObjectKey: Sendable { case id, customer, status, subscription, billingReason, amountPaid, currency }

    private static let topKeys = ByteTable<TopKey>([
        ("id", .id), ("type", .type), ("created", .created), ("data", .data),
    ])
    private static let objectKeys = ByteTable<ObjectKey>([
        ("id", .id), ("customer", .customer), ("status", .status), ("subscription", .subscription),
        ("billing_reason", .billingReason), ("amount_paid", .amountPaid), ("currency", .currency),
    ])
    private static let types = ByteTable<StripeEvent.Kind>(StripeEvent.Kind.allCases.map { ($0.rawValue, $0) })

    /// What one scan found, with the first problem of each field (raised only if the field matters).
    private struct Fields {
        var id: String?
        var type: StripeEvent.Kind?
        var typeSeen = false
        var created: Int64?
        var sawObject = false
        var objectId: String?
        var customer: String?
        var status: String?
        var subscription: String?
        var billingReason: String?
        var amountPaid: Int64?
        var currency: String?
        /// Problems by field name, in the order found.
        var problems: [(field: String, reason: String)] = []

        func problem(_ field: String) -> String? { problems.first { $0.field == field }?.reason }
    }

    /// Decodes one value; `nowMs` (when given) bounds `created` by `maxFutureMs`.
    static func decode(_ value: UnsafeBufferPointer<UInt8>, nowMs: Int64?, maxFutureMs: Int64) -> DecodeOutcome {
        var fields = Fields()
        do throws(DecodeProblem) {
            var s = JSONScanner(value)
            s.skipWhitespace()
            guard !s.isAtEnd else { return .invalid("not valid JSON: the value is empty") }
            guard value[s.index] == UInt8(ascii: "{") else {
                if let syntax = JSONScanner.syntaxProblem(in: value) { return .invalid(syntax.reason(field: "")) }
                return .invalid("value is \(JSONScanner.describe(value[s.index])), not a JSON object (a Stripe Event)")
            }
            try readEvent(&s, into: &fields)
            s.skipWhitespace()
            guard s.isAtEnd else { throw s.unexpected("the end of input after the object") }
        } catch {
            return .invalid(error.reason(field: ""))
        }
        return finish(fields, nowMs: nowMs, maxFutureMs: maxFutureMs)
    }

    private static func finish(_ f: Fields, nowMs: Int64?, maxFutureMs: Int64) -> DecodeOutcome {
        if let problem = f.problem("type") { return .invalid(problem) }
        guard f.typeSeen else { return .invalid("missing required field 'type'") }
        guard let type = f.type else { return .skipped(.otherStripeType) }
        // The fields this type reads, in the order their problems are reported.
        var read = ["id", "created", "data.object", "data.object.id", "data.object.customer"]
        if type == .invoicePaid {
            read += ["data.object.subscription", "data.object.billing_reason", "data.object.amount_paid", "data.object.currency"]
        } else if type != .subscriptionDeleted {
            read.append("data.object.status")
        }
        for field in read { if let problem = f.problem(field) { return .invalid(problem) } }
        guard let id = f.id else { return .invalid("missing required field 'id'") }
        guard let created = f.created else { return .invalid("missing required field 'created'") }
        guard f.sawObject else { return .invalid("missing required field 'data.object'") }
        guard let customer = f.customer else { return .invalid("missing required field 'data.object.customer'") }
        guard let objectId = f.objectId else { return .invalid("missing required field 'data.object.id'") }
        if type.isSubscription, type != .subscriptionDeleted, f.status == nil {
            return .invalid("missing required field 'data.object.status'")
        }
        if let problem = InputLimits.futureProblem(created, nowMs: nowMs, maxFutureMs: maxFutureMs, field: "created") {
            return .invalid(problem)
        }
        let invoice = type == .invoicePaid
        return .record(
            .stripe(
                StripeEvent(
                    id: id, type: type, createdMs: created, customerId: customer, objectId: objectId,
                    status: invoice ? nil : f.status, subscriptionId: invoice ? f.subscription : nil,
                    billingReason: invoice ? f.billingReason : nil, amountPaid: invoice ? f.amountPaid : nil,
                    currency: invoice ? f.currency : nil)))
    }

    // MARK: - Scanning

    private static func readEvent(_ s: inout JSONScanner, into f: inout Fields) throws(DecodeProblem) {
        try s.beginObject()
        let topKeys = Self.topKeys
        var hint = 0
        var first = true
        while let key = try s.nextKey(&first) {
            guard let field = try topKeys.lookup(key, in: s, hint: &hint) else {
                try s.skipValue()
                continue
            }
            switch field {
            case .id: f.id = try identifier(&s, "id", &f)
            case .type:
                f.typeSeen = true
                guard try s.peekValue() == UInt8(ascii: "\"") else {
                    f.problems.append(("type", try mismatch(&s, "type", expected: "a string")))
                    continue
                }
                // An unknown type is skipped whatever it holds: only the read ones are named.
                f.type = try Self.types.lookup(try s.readStringRef(), in: s)
            case .created:
                f.created = try created(&s, &f)
            case .data:
                guard try s.peekValue() == UInt8(ascii: "{") else {
                    f.problems.append(("data.object", try mismatch(&s, "data", expected: "an object")))
                    continue
                }
                try readData(&s, into: &f)
            }
        }
    }

    private static func readData(_ s: inout JSONScanner, into f: inout Fields) throws(DecodeProblem) {
        try s.beginObject()
        var first = true
        while let key = try s.nextKey(&first) {
            let isObject = try s.withBytes(of: key) { (p) throws(DecodeProblem) -> Bool in
                p.count == 6 && p.elementsEqual("object".utf8)
            }
            guard isObject else {
                try s.skipValue()
                continue
            }
            guard try s.peekValue() == UInt8(ascii: "{") else {
                f.problems.append(("data.object", try mismatch(&s, "data.object", expected: "an object")))
                continue
            }
            f.sawObject = true
            try readObject(&s, into: &f)
        }
    }

    private static func readObject(_ s: inout JSONScanner, into f: inout Fields) throws(DecodeProblem) {
        try s.beginObject()
        let objectKeys = Self.objectKeys
        var hint = 0
        var first = true
        while let key = try s.nextKey(&first) {
            guard let field = try objectKeys.lookup(key, in: s, hint: &hint) else {
                try s.skipValue()
                continue
            }
            switch field {
            case .id: f.objectId = try identifier(&s, "data.object.id", &f)
            case .customer: f.customer = try expandable(&s, "data.object.customer", &f)
            case .subscription: f.subscription = try expandable(&s, "data.object.subscription", &f)
            case .status: f.status = try text(&s, "data.object.status", &f)
            case .billingReason: f.billingReason = try text(&s, "data.object.billing_reason", &f)
            case .currency: f.currency = try text(&s, "data.object.currency", &f)
            case .amountPaid:
                s.skipWhitespace()
                let start = s.index
                do {
                    f.amountPaid = try s.readInt64(debezium: false)
                } catch {
                    guard case .field(let problem) = error else { throw error }
                    f.problems.append(("data.object.amount_paid", problem.message(field: "data.object.amount_paid")))
                    try skipRest(&s, from: start)
                }
            }
        }
    }

    /// An id, or an expanded object's `id` (`customer`, `subscription`); `nil` for null.
    private static func expandable(_ s: inout JSONScanner, _ name: String, _ f: inout Fields) throws(DecodeProblem)
        -> String?
    {
        guard try s.peekValue() == UInt8(ascii: "{") else { return try identifier(&s, name, &f) }
        try s.beginObject()
        var id: String?
        var first = true
        while let key = try s.nextKey(&first) {
            let isId = try s.withBytes(of: key) { (p) throws(DecodeProblem) -> Bool in
                p.count == 2 && p[0] == UInt8(ascii: "i") && p[1] == UInt8(ascii: "d")
            }
            if isId { id = try identifier(&s, name + ".id", &f) } else { try s.skipValue() }
        }
        if id == nil, f.problem(name + ".id") == nil { f.problems.append((name, "field '\(name)' is an object without an 'id'")) }
        if let problem = f.problem(name + ".id") { f.problems.append((name, problem)) }
        return id
    }

    private static func identifier(_ s: inout JSONScanner, _ name: String, _ f: inout Fields) throws(DecodeProblem)
        -> String?
    {
        guard let value = try string(&s, name, &f) else { return nil }
        if let problem = InputLimits.identifierProblem(value, field: name) {
            f.problems.append((name, problem))
            return nil
        }
        return value
    }

    private static func text(_ s: inout JSONScanner, _ name: String, _ f: inout Fields) throws(DecodeProblem) -> String? {
        guard let value = try string(&s, name, &f) else { return nil }
        if let problem = InputLimits.textProblem(value, field: name) {
            f.problems.append((name, problem))
            return nil
        }
        return value
    }

    /// A string or null; a value of another type is noted as the field's problem and skipped.
    private static func string(_ s: inout JSONScanner, _ name: String, _ f: inout Fields) throws(DecodeProblem)
        -> String?
    {
        s.skipWhitespace()
        let start = s.index
        do {
            return try s.readString()
        } catch {
            guard case .field(let problem) = error else { throw error }
            f.problems.append((name, problem.message(field: name)))
            try skipRest(&s, from: start)
            return nil
        }
    }

    /// Stripe's `created`: integer seconds since the epoch, returned in milliseconds.
    private static func created(_ s: inout JSONScanner, _ f: inout Fields) throws(DecodeProblem) -> Int64? {
        let seconds: Int64?
        s.skipWhitespace()
        let start = s.index
        do {
            seconds = try s.readInt64(debezium: false)
        } catch {
            guard case .field(let problem) = error else { throw error }
            f.problems.append(("created", problem.message(field: "created")))
            try skipRest(&s, from: start)
            return nil
        }
        guard let seconds else { return nil }
        let (ms, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        guard !overflow else {
            f.problems.append(("created", "field 'created' (\(seconds) seconds) is outside the range of timestamps"))
            return nil
        }
        return ms
    }

    /// Skips the value a failed typed read left behind, unless the read consumed it already.
    private static func skipRest(_ s: inout JSONScanner, from start: Int) throws(DecodeProblem) {
        if s.index == start { try s.skipValue() }
    }

    /// Notes a value of the wrong type and skips it.
    private static func mismatch(_ s: inout JSONScanner, _ name: String, expected: String) throws(DecodeProblem) -> String {
        let reason = s.wrongType(expected).reason(field: name)
        if case .syntax = s.wrongType(expected) { throw s.wrongType(expected) }
        try s.skipValue()
        return reason
    }
}
