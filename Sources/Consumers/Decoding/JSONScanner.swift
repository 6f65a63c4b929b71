/// A cursor over one JSON text's UTF-8 bytes that reads only what the caller asks for.
///
/// It never builds a tree: the caller walks objects key by key, compares key bytes in place, reads the
/// values it wants as Swift values and skips (while validating) the rest. Strings are returned as
/// ``StringRef`` byte ranges and turned into `String`s only on request.
/// - Important: the buffer must outlive the scanner; use it inside `withUnsafeBufferPointer`.
struct JSONScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    /// Deepest nesting `skipValue` follows before it calls the input unreasonable.
    static let maxDepth = 64

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    var isAtEnd: Bool { index >= bytes.count }

    // MARK: - Whitespace and errors

    @inline(__always)
    mutating func skipWhitespace() {
        // Compact JSON has no whitespace between tokens: one test, usually.
        while index < bytes.count {
            let c = bytes[index]
            guard c <= 0x20, c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            index &+= 1
        }
    }

    /// The next non-whitespace byte, without consuming it; throws at the end of input.
    @inline(__always)
    mutating func peekValue(_ expected: @autoclosure () -> String = "a value") throws(DecodeProblem) -> UInt8 {
        skipWhitespace()
        guard index < bytes.count else { throw unexpected(expected()) }
        return bytes[index]
    }

    /// A syntax error at the current position.
    func unexpected(_ expected: String) -> DecodeProblem {
        guard index < bytes.count else {
            return .syntax("not valid JSON: unexpected end of input at byte \(index), expected \(expected) (truncated?)")
        }
        return .syntax("not valid JSON: unexpected \(Self.show(bytes[index])) at byte \(index), expected \(expected)")
    }

    static func show(_ c: UInt8) -> String {
        c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16, uppercase: true))"
    }

    /// What kind of JSON value starts with `c`, for "must be X, not Y" reasons.
    static func describe(_ c: UInt8) -> String {
        switch c {
        case UInt8(ascii: "{"): "an object"
        case UInt8(ascii: "["): "an array"
        case UInt8(ascii: "\""): "a string"
        case UInt8(ascii: "t"), UInt8(ascii: "f"): "a boolean"
        case UInt8(ascii: "n"): "null"
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): "a number"
        default: "invalid JSON"
        }
    }

    /// Throws the right problem when the value at the cursor has the wrong type for a field.
    func wrongType(_ expected: String) -> DecodeProblem {
        let c = bytes[index]
        switch c {
        case UInt8(ascii: "N"), UInt8(ascii: "I"): return .field(.nonFinite)
        case UInt8(ascii: "-") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "I"):
            return .field(.nonFinite)
        default:
            let found = Self.describe(c)
            if found == "invalid JSON" { return unexpected("a value") }
            return .field(.wrongType(expected: expected, found: found))
        }
    }

    // MARK: - Structure

    /// Consumes `{`.
    mutating func beginObject() throws(DecodeProblem) {
        guard try peekValue("'{'") == UInt8(ascii: "{") else { throw unexpected("'{'") }
        index += 1
    }

    /// Reads the next key of an object and its colon; `nil` once the closing `}` is consumed.
    @inline(__always)
    mutating func nextKey(_ isFirst: inout Bool) throws(DecodeProblem) -> StringRef? {
        var c = try peekValue("a key or '}'")
        if c == UInt8(ascii: "}") {
            index += 1
            return nil
        }
        if isFirst {
            isFirst = false
        } else {
            guard c == UInt8(ascii: ",") else { throw unexpected("',' or '}'") }
            index += 1
            c = try peekValue("a key")
        }
        guard c == UInt8(ascii: "\"") else { throw unexpected("a key string") }
        let key = try readStringRef()
        guard try peekValue("':'") == UInt8(ascii: ":") else { throw unexpected("':'") }
        index += 1
        return key
    }

    /// Consumes `[`.
    mutating func beginArray() throws(DecodeProblem) {
        guard try peekValue("'['") == UInt8(ascii: "[") else { throw unexpected("'['") }
        index += 1
    }

    /// Moves to the next element of an array; `false` once the closing `]` is consumed.
    mutating func nextElement(_ isFirst: inout Bool) throws(DecodeProblem) -> Bool {
        let c = try peekValue("a value or ']'")
        if c == UInt8(ascii: "]") {
            index += 1
            return false
        }
        if isFirst {
            isFirst = false
        } else {
            guard c == UInt8(ascii: ",") else { throw unexpected("',' or ']'") }
            index += 1
        }
        return true
    }

    /// Skips one value of any kind, checking its syntax.
    mutating func skipValue(depth: Int = 0) throws(DecodeProblem) {
        switch try peekValue() {
        case UInt8(ascii: "{"):
            guard depth < Self.maxDepth else { throw .syntax("not valid JSON: nested deeper than \(Self.maxDepth) levels") }
            index += 1
            var first = true
            while try nextKey(&first) != nil { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            guard depth < Self.maxDepth else { throw .syntax("not valid JSON: nested deeper than \(Self.maxDepth) levels") }
            index += 1
            var first = true
            while try nextElement(&first) { try skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""):
            _ = try readStringRef()
        case UInt8(ascii: "t"):
            try literal("true")
        case UInt8(ascii: "f"):
            try literal("false")
        case UInt8(ascii: "n"):
            try literal("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            _ = try scanNumber()
        default:
            throw unexpected("a value")
        }
    }

    /// Consumes `text` (one of the literals `true`, `false`, `null`).
    mutating func literal(_ text: StaticString) throws(DecodeProblem) {
        let count = text.utf8CodeUnitCount
        let p = text.utf8Start
        for k in 0..<count {
            guard index < bytes.count, bytes[index] == p[k] else { throw unexpected("'\(text)'") }
            index += 1
        }
    }

    /// Checks that the whole buffer is one JSON value, returning the syntax problem if it is not.
    static func syntaxProblem(in bytes: UnsafeBufferPointer<UInt8>) -> DecodeProblem? {
        var s = JSONScanner(bytes)
        do throws(DecodeProblem) {
            try s.skipValue()
            s.skipWhitespace()
            guard s.isAtEnd else { return s.unexpected("the end of input after the value") }
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Strings

    /// Consumes a string at the cursor (which must be at its opening quote) and returns its byte range.
    mutating func readStringRef() throws(DecodeProblem) -> StringRef {
        index += 1
        let start = index
        var escaped = false
        var high: UInt8 = 0
        var highWords: UInt64 = 0
        let base = UnsafeRawPointer(bytes.baseAddress!)
        while index < bytes.count {
            // Eight bytes at a time up to the first quote, backslash or control character.
            while index + 8 <= bytes.count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                let mask = Self.attentionMask(word)
                if mask == 0 {
                    highWords |= word
                    index &+= 8
                    continue
                }
                let skip = mask.trailingZeroBitCount >> 3
                highWords |= word & ((1 &<< UInt64(skip &* 8)) &- 1)
                index &+= skip
                break
            }
            guard index < bytes.count else { break }
            let c = bytes[index]
            if c == UInt8(ascii: "\"") {
                let ref = StringRef(
                    start: start, end: index, escaped: escaped,
                    ascii: high < 0x80 && highWords & 0x8080_8080_8080_8080 == 0)
                index += 1
                return ref
            }
            if c == UInt8(ascii: "\\") {
                escaped = true
                index += 1
                guard index < bytes.count else { break }
                switch bytes[index] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    index += 1
                case UInt8(ascii: "u"):
                    index += 1
                    for _ in 0..<4 {
                        guard index < bytes.count else { break }
                        guard Self.hexValue(bytes[index]) != nil else { throw unexpected("a hex digit of a \\u escape") }
                        index += 1
                    }
                default:
                    throw unexpected("an escape character (\" \\ / b f n r t u)")
                }
                continue
            }
            guard c >= 0x20 else {
                throw .syntax("not valid JSON: unescaped control character 0x\(String(c, radix: 16)) in a string at byte \(index)")
            }
            high |= c
            index += 1
        }
        throw unexpected("a closing '\"'")
    }

    /// The high bit of each byte of a little-endian word that is a `"`, a `\\` or below 0x20.
    ///
    /// Borrows may flag bytes above the first flagged one wrongly, but the lowest flag is always exact, and
    /// that is the only one used.
    @inline(__always)
    static func attentionMask(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22)
        let backslash = w ^ (ones &* 0x5C)
        let zeroQuote = (quote &- ones) & ~quote
        let zeroBackslash = (backslash &- ones) & ~backslash
        let control = (w &- ones &* 0x20) & ~w
        return (zeroQuote | zeroBackslash | control) & highs
    }

    @inline(__always)
    static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(c &- UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(c &- UInt8(ascii: "a") &+ 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(c &- UInt8(ascii: "A") &+ 10)
        default: nil
        }
    }

    /// The raw bytes of a string without escapes (its quotes excluded).
    @inline(__always)
    func raw(_ ref: StringRef) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: bytes[ref.start..<ref.end])
    }

    /// The string's text, escapes resolved and UTF-8 checked.
    func string(_ ref: StringRef) throws(DecodeProblem) -> String {
        if !ref.escaped {
            let raw = raw(ref)
            if ref.ascii { return String(decoding: raw, as: UTF8.self) }
            guard let text = String(validating: raw, as: UTF8.self) else { throw .field(.invalidUTF8) }
            return text
        }
        let unescaped = try unescape(ref)
        guard let text = String(validating: unescaped, as: UTF8.self) else { throw .field(.invalidUTF8) }
        return text
    }

    /// The string's bytes with escapes resolved (`\uXXXX` and surrogate pairs become UTF-8).
    func unescape(_ ref: StringRef) throws(DecodeProblem) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ref.end - ref.start)
        var i = ref.start
        // readStringRef already checked the escape syntax, so only surrogate pairing can fail here.
        func hex4(_ at: Int) -> UInt32 {
            var v: UInt32 = 0
            for k in at..<(at + 4) { v = v << 4 | (Self.hexValue(bytes[k]) ?? 0) }
            return v
        }
        while i < ref.end {
            let c = bytes[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = hex4(i)
                i += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard i + 6 <= ref.end, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u"),
                        case let low = hex4(i + 2), (0xDC00...0xDFFF).contains(low)
                    else {
                        throw .syntax("not valid JSON: unpaired UTF-16 surrogate \\u\(String(scalar, radix: 16, uppercase: true)) in a string")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw .syntax("not valid JSON: unpaired UTF-16 surrogate \\u\(String(scalar, radix: 16, uppercase: true)) in a string")
                }
                Self.appendUTF8(scalar, to: &out)
            default: out.append(e)  // " \ /
            }
        }
        return out
    }

    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | v >> 6))
            out.append(UInt8(0x80 | v & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | v >> 12))
            out.append(UInt8(0x80 | v >> 6 & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        default:
            out.append(UInt8(0xF0 | v >> 18))
            out.append(UInt8(0x80 | v >> 12 & 0x3F))
            out.append(UInt8(0x80 | v >> 6 & 0x3F))
            out.append(UInt8(0x80 | v & 0x3F))
        }
    }

    /// Runs `body` over the string's bytes with escapes resolved, copying only when it has escapes.
    func withBytes<R>(
        of ref: StringRef, _ body: (UnsafeBufferPointer<UInt8>) throws(DecodeProblem) -> R
    ) throws(DecodeProblem) -> R {
        if !ref.escaped { return try body(raw(ref)) }
        let unescaped = try unescape(ref)
        return try unescaped.withUnsafeBufferPointer { (p) throws(DecodeProblem) -> R in try body(p) }
    }

    // MARK: - Numbers

    /// Consumes a number and reports its shape; the magnitude is exact only when `!overflow`.
    mutating func scanNumber() throws(DecodeProblem) -> NumberToken {
        let start = index
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 else { throw unexpected("a digit") }
        var magnitude: UInt64 = 0
        var overflow = false
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count {
                let d = bytes[index] &- UInt8(ascii: "0")
                guard d < 10 else { break }
                let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(UInt64(d))
                overflow = overflow || o1 || o2
                magnitude = a
                index += 1
            }
        }
        var integer = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integer = false
            index += 1
            guard index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 else { throw unexpected("a digit after '.'") }
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        }
        if index < bytes.count, bytes[index] | 0x20 == UInt8(ascii: "e") {
            integer = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 else { throw unexpected("a digit of the exponent") }
            while index < bytes.count, bytes[index] &- UInt8(ascii: "0") < 10 { index += 1 }
        }
        return NumberToken(start: start, end: index, negative: negative, magnitude: magnitude, overflow: overflow, integer: integer)
    }

    /// Consumes a JSON integer that must fit `Int64`.
    mutating func readInt64() throws(DecodeProblem) -> Int64 {
        let number = try scanNumber()
        guard number.integer else { throw .field(.notInteger(text(number))) }
        guard let value = number.int64 else { throw .field(.outOfRange(text(number))) }
        return value
    }

    func text(_ number: NumberToken) -> String {
        quoted(String(decoding: UnsafeBufferPointer(rebasing: bytes[number.start..<number.end]), as: UTF8.self))
    }
}

/// The byte range of a JSON string's contents, quotes excluded.
struct StringRef {
    var start: Int
    var end: Int
    /// It contains backslash escapes: use `JSONScanner.string` / `withBytes`, not the raw bytes.
    var escaped: Bool
    /// Every byte is ASCII, so the raw bytes are valid UTF-8.
    var ascii: Bool
    var count: Int { end - start }
}

/// The shape of one scanned JSON number.
struct NumberToken {
    var start: Int
    var end: Int
    var negative: Bool
    var magnitude: UInt64
    var overflow: Bool
    /// No fraction and no exponent.
    var integer: Bool

    /// The value when it is an integer within `Int64`.
    var int64: Int64? {
        guard integer, !overflow else { return nil }
        if negative {
            guard magnitude <= UInt64(1) << 63 else { return nil }
            return Int64(bitPattern: 0 &- magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }
}
