import Shared

/// Typed field readers: each reads the value at the cursor, `nil` for JSON `null`.
extension JSONScanner {
    /// A string field.
    mutating func readString() throws(DecodeProblem) -> String? {
        switch try peekValue() {
        case UInt8(ascii: "\""):
            return try string(readStringRef())
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default:
            throw wrongType("a string")
        }
    }

    /// A boolean field.
    mutating func readBool() throws(DecodeProblem) -> Bool? {
        switch try peekValue() {
        case UInt8(ascii: "t"):
            try literal("true")
            return true
        case UInt8(ascii: "f"):
            try literal("false")
            return false
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default:
            throw wrongType("a boolean")
        }
    }

    /// A signed 64-bit integer field.
    ///
    /// With `debezium`, a canonical decimal string (`"-120"`) is accepted too: that is how Debezium sends
    /// NUMERIC columns with `decimal.handling.mode=string`. A base64 string (`decimal.handling.mode=precise`)
    /// is refused with a reason that says how to configure the connector.
    mutating func readInt64(debezium: Bool) throws(DecodeProblem) -> Int64? {
        let c = try peekValue()
        switch c {
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if c == UInt8(ascii: "-"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "I") {
                throw .field(.nonFinite)
            }
            return try readInt64()
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        case UInt8(ascii: "\"") where debezium:
            let ref = try readStringRef()
            return try withBytes(of: ref) { (p) throws(DecodeProblem) -> Int64 in
                if let value = Self.decimalInteger(p) { return value }
                let text = quoted(String(decoding: p, as: UTF8.self))
                if Self.looksBase64(p) { throw .field(.base64Numeric(text)) }
                throw .field(.wrongType(expected: "an integer", found: "the string \"\(text)\""))
            }
        default:
            throw wrongType("an integer")
        }
    }

    /// A timestamp field: an RFC 3339 string, or an epoch integer whose unit is chosen by magnitude.
    ///
    /// Debezium sends `timestamptz` as an RFC 3339 string (ZonedTimestamp) and `timestamp` as an integer:
    /// milliseconds (Timestamp), microseconds (MicroTimestamp) or nanoseconds (NanoTimestamp). Integers of
    /// magnitude below 10^14 are read as milliseconds (up to the year 5138), below 10^17 as microseconds, and
    /// larger ones as nanoseconds. So a microsecond value before 1973-03-03 would be misread as milliseconds;
    /// billing data that old does not exist.
    mutating func readTimestamp() throws(DecodeProblem) -> Int64? {
        let c = try peekValue()
        switch c {
        case UInt8(ascii: "\""):
            let ref = try readStringRef()
            return try withBytes(of: ref) { (p) throws(DecodeProblem) -> Int64 in
                guard let ms = Timestamp.parse(p) else {
                    throw .field(.badTimestamp(quoted(String(decoding: p, as: UTF8.self))))
                }
                return ms
            }
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            if c == UInt8(ascii: "-"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "I") {
                throw .field(.nonFinite)
            }
            return Self.epochMilliseconds(try readInt64())
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default:
            throw wrongType("an RFC 3339 timestamp string")
        }
    }

    static func epochMilliseconds(_ value: Int64) -> Int64 {
        let magnitude = value.magnitude
        func floorDiv(_ v: Int64, _ d: Int64) -> Int64 { v >= 0 ? v / d : -((-(v + 1)) / d) - 1 }
        if magnitude < 100_000_000_000_000 { return value }
        if magnitude < 100_000_000_000_000_000 { return floorDiv(value, 1000) }
        return floorDiv(value, 1_000_000)
    }

    /// An enum field spelled as one of `table`'s strings.
    mutating func readEnum<E>(_ table: EnumTable<E>) throws(DecodeProblem) -> E? {
        switch try peekValue() {
        case UInt8(ascii: "\""):
            let ref = try readStringRef()
            if let value = try table.table.lookup(ref, in: self) { return value }
            throw .field(.unknownValue(quoted(try string(ref)), allowed: table.allowed))
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default:
            throw wrongType("a string")
        }
    }

    /// An array of enum strings, as a set.
    mutating func readEnumSet<E: Hashable>(_ table: EnumTable<E>) throws(DecodeProblem) -> Set<E>? {
        switch try peekValue() {
        case UInt8(ascii: "["):
            index += 1
            var result = Set<E>()
            var first = true
            while try nextElement(&first) {
                guard try peekValue() != UInt8(ascii: "n") else { throw .field(.nullElement) }
                guard let value = try readEnum(table) else { throw .field(.nullElement) }
                result.insert(value)
            }
            return result
        case UInt8(ascii: "n"):
            try literal("null")
            return nil
        default:
            throw wrongType("an array of strings")
        }
    }

    /// `-?(0|[1-9][0-9]*)` within `Int64`, else `nil`.
    static func decimalInteger(_ p: UnsafeBufferPointer<UInt8>) -> Int64? {
        var s = JSONScanner(p)
        guard !p.isEmpty, p[0] == UInt8(ascii: "-") || p[0] &- UInt8(ascii: "0") < 10,
            let number = try? s.scanNumber(), s.isAtEnd
        else { return nil }
        return number.int64
    }

    /// Base64 alphabet, a length that is a multiple of 4, at most two `=` at the end.
    static func looksBase64(_ p: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !p.isEmpty, p.count % 4 == 0 else { return false }
        var padding = 0
        for (k, c) in p.enumerated() {
            switch c {
            case UInt8(ascii: "="):
                padding += 1
                guard k >= p.count - 2 else { return false }
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "+"), UInt8(ascii: "/"):
                guard padding == 0 else { return false }
            default:
                return false
            }
        }
        return true
    }
}
