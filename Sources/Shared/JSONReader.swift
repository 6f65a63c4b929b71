/// Why a JSON text was refused: what was wrong and at which byte.
public struct JSONReadError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var offset: Int

    public var description: String { "not valid JSON: \(reason) at byte \(offset)" }
}

/// Strict RFC 8259 JSON text → `JSONValue`, for the JSON the worker stored itself (issue rows, read
/// on every batch and for every report) and anything else it reads back as a whole value.
///
/// Numbers become what `JSONDecoder` makes of them as a `JSONValue` (``number()`` has its rules):
/// `.int` for a whole number within Int64, also when written `1.0`, `1e2` or
/// `-7.453941885401481e+17`, else `.double`. Refused, with an
/// error and never a crash: trailing commas, leading zeros, `+1`, `.5`, NaN, bad or lone-surrogate
/// `\u` escapes (there is no UTF-8 for them), raw control characters in strings, invalid UTF-8,
/// numbers beyond Double, anything after the value, and nesting deeper than ``maxDepth``. A repeated
/// key keeps its first value (as `JSONDecoder` does).
public enum JSONReader {
    /// The deepest nesting of arrays and objects read; the parser recurses once per level.
    public static let maxDepth = 128

    public static func parse(_ text: String) throws(JSONReadError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(JSONReadError) -> JSONValue in try parse(bytes) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: [UInt8]) throws(JSONReadError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { bytes in
            Result { () throws(JSONReadError) -> JSONValue in try parse(bytes) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws(JSONReadError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        let value = try parser.value()
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.unexpected("the end after the value") }
        return value
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0
        var depth = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func value() throws(JSONReadError) -> JSONValue {
            skipWhitespace()
            guard index < bytes.count else { throw unexpected("a value") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object()
            case UInt8(ascii: "["): return try array()
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"):
                try literal("true")
                return .bool(true)
            case UInt8(ascii: "f"):
                try literal("false")
                return .bool(false)
            case UInt8(ascii: "n"):
                try literal("null")
                return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw unexpected("a value")
            }
        }

        mutating func object() throws(JSONReadError) -> JSONValue {
            try enter()
            index &+= 1
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index &+= 1
                depth &-= 1
                return .object([:])
            }
            // Collected first, so the dictionary is built at its final size: growing it rehashes every key.
            var pairs: [(String, JSONValue)] = []
            pairs.reserveCapacity(8)
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw unexpected("a key") }
                let key = try string()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw unexpected("':'") }
                index &+= 1
                pairs.append((key, try value()))
                skipWhitespace()
                guard index < bytes.count else { throw unexpected("',' or '}'") }
                if bytes[index] == UInt8(ascii: ",") {
                    index &+= 1
                } else if bytes[index] == UInt8(ascii: "}") {
                    index &+= 1
                    depth &-= 1
                    var fields = [String: JSONValue](minimumCapacity: pairs.count)
                    // Backwards, so the first of repeated keys is the one kept.
                    for (key, value) in pairs.reversed() { fields[key] = value }
                    return .object(fields)
                } else {
                    throw unexpected("',' or '}'")
                }
            }
        }

        mutating func array() throws(JSONReadError) -> JSONValue {
            try enter()
            index &+= 1
            var elements: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index &+= 1
                depth &-= 1
                return .array(elements)
            }
            while true {
                elements.append(try value())
                skipWhitespace()
                guard index < bytes.count else { throw unexpected("',' or ']'") }
                if bytes[index] == UInt8(ascii: ",") {
                    index &+= 1
                } else if bytes[index] == UInt8(ascii: "]") {
                    index &+= 1
                    depth &-= 1
                    return .array(elements)
                } else {
                    throw unexpected("',' or ']'")
                }
            }
        }

        mutating func enter() throws(JSONReadError) {
            depth &+= 1
            guard depth <= JSONReader.maxDepth else {
                throw JSONReadError(reason: "nesting deeper than \(JSONReader.maxDepth) levels", offset: index)
            }
        }

        /// The string whose opening quote is at `index`; runs without escapes are copied in one go.
        mutating func string() throws(JSONReadError) -> String {
            index &+= 1
            var decoded: [UInt8] = []
            var runStart = index
            while index < bytes.count {
                let c = bytes[index]
                if c == UInt8(ascii: "\"") {
                    let text: String?
                    if decoded.isEmpty {
                        text = Self.validString(UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                    } else {
                        decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                        text = decoded.withUnsafeBufferPointer { Self.validString($0) }
                    }
                    guard let text else { throw JSONReadError(reason: "a string that is not valid UTF-8", offset: runStart) }
                    index &+= 1
                    return text
                } else if c == UInt8(ascii: "\\") {
                    decoded.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<index]))
                    try escape(into: &decoded)
                    runStart = index
                } else if c < 0x20 {
                    throw JSONReadError(reason: "a raw control character (0x\(hex(c))) in a string", offset: index)
                } else {
                    index &+= 1
                }
            }
            throw unexpected("'\"' (unterminated string)")
        }

        /// The bytes as a `String`, nil when they are not valid UTF-8. (`String(validating:)` takes a
        /// slow generic path; `String(decoding:)` is fast but repairs, so a repair means invalid.)
        static func validString(_ utf8: UnsafeBufferPointer<UInt8>) -> String? {
            let text = String(decoding: utf8, as: UTF8.self)
            if utf8.allSatisfy({ $0 < 0x80 }) { return text }
            return text.utf8.elementsEqual(utf8) ? text : nil
        }

        /// The escape at `index` (its backslash), appended as UTF-8.
        mutating func escape(into decoded: inout [UInt8]) throws(JSONReadError) {
            let start = index
            index &+= 1
            guard index < bytes.count else { throw unexpected("an escape") }
            let c = bytes[index]
            index &+= 1
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): decoded.append(c)
            case UInt8(ascii: "b"): decoded.append(0x08)
            case UInt8(ascii: "f"): decoded.append(0x0C)
            case UInt8(ascii: "n"): decoded.append(0x0A)
            case UInt8(ascii: "r"): decoded.append(0x0D)
            case UInt8(ascii: "t"): decoded.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = UInt32(try hex4())
                if (0xD800..<0xDC00).contains(scalar) {
                    // A high surrogate must be followed by an escaped low one.
                    guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                    else { throw JSONReadError(reason: "a lone surrogate escape", offset: start) }
                    index &+= 2
                    let low = UInt32(try hex4())
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw JSONReadError(reason: "a lone surrogate escape", offset: start)
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00..<0xE000).contains(scalar) {
                    throw JSONReadError(reason: "a lone surrogate escape", offset: start)
                }
                decoded.append(contentsOf: UTF8.encode(Unicode.Scalar(scalar)!)!)
            default:
                throw JSONReadError(reason: "an unknown escape '\\\(Character(Unicode.Scalar(c)))'", offset: start)
            }
        }

        mutating func hex4() throws(JSONReadError) -> UInt16 {
            guard index + 4 <= bytes.count else { throw unexpected("four hex digits") }
            var value: UInt16 = 0
            for _ in 0..<4 {
                let c = bytes[index]
                let digit: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
                default: throw unexpected("a hex digit")
                }
                value = value << 4 | UInt16(digit)
                index &+= 1
            }
            return value
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func number() throws(JSONReadError) -> JSONValue {
            let start = index
            let negative = bytes[index] == UInt8(ascii: "-")
            if negative { index &+= 1 }
            let integerStart = index
            guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected("a digit") }
            if bytes[index] == UInt8(ascii: "0") {
                index &+= 1
                if index < bytes.count, isDigit(bytes[index]) { throw unexpected("no leading zero") }
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index &+= 1 }
            }
            let integerDigits = integerStart..<index
            var fractionDigits = index..<index
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index &+= 1
                let fractionStart = index
                try digits()
                fractionDigits = fractionStart..<index
            }
            var exponent = 0
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index &+= 1
                var negativeExponent = false
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                    negativeExponent = bytes[index] == UInt8(ascii: "-")
                    index &+= 1
                }
                let exponentStart = index
                try digits()
                for i in exponentStart..<index {
                    // Saturated: beyond ±100 000 the value is 0 or beyond Double anyway.
                    exponent = min(exponent * 10 + Int(bytes[i] &- UInt8(ascii: "0")), 100_000)
                }
                if negativeExponent { exponent = -exponent }
            }
            let isPlainInteger = fractionDigits.isEmpty && index == fractionDigits.upperBound
            if isPlainInteger, let whole = decimalInteger(negative: negative, integerDigits, fractionDigits, exponent: 0) {
                return .int(whole)
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            guard let double = Double(text), double.isFinite else {
                throw JSONReadError(reason: "the number \(text) is beyond Double", offset: start)
            }
            // As JSONDecoder reads an Int64 from any other number: the Double, when it is a whole
            // number Int64 holds; from 2^53 on (where a Double skips integers), the decimal text's
            // value without its fraction instead, down to -(2^63 - 1).
            guard !isPlainInteger, let whole = Int64(exactly: double) else { return .double(double) }
            if double.magnitude < 9_007_199_254_740_992 { return .int(whole) }
            if let exact = decimalInteger(negative: negative, integerDigits, fractionDigits, exponent: exponent),
                exact != .min
            {
                return .int(exact)
            }
            return .double(double)
        }

        /// The decimal value of the digits (the point dropped) times 10^`exponent`, without its
        /// fraction, when Int64 holds it.
        func decimalInteger(negative: Bool, _ integerDigits: Range<Int>, _ fractionDigits: Range<Int>, exponent: Int)
            -> Int64?
        {
            let count = integerDigits.count + fractionDigits.count
            func digit(_ i: Int) -> UInt64 {
                let byte =
                    i < integerDigits.count
                    ? bytes[integerDigits.lowerBound + i] : bytes[fractionDigits.lowerBound + i - integerDigits.count]
                return UInt64(byte &- UInt8(ascii: "0"))
            }
            // The whole part is the first `count + scale` digits, then `scale` zeros when scale > 0.
            let scale = exponent - fractionDigits.count
            let wholeDigits = min(count, max(0, count + scale))
            var magnitude: UInt64 = 0
            for i in 0..<wholeDigits {
                let (times10, o1) = magnitude.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit(i))
                if o1 || o2 { return nil }
                magnitude = sum
            }
            if scale > 0, magnitude != 0 {
                for _ in 0..<scale {
                    let (times10, overflow) = magnitude.multipliedReportingOverflow(by: 10)
                    if overflow { return nil }
                    magnitude = times10
                }
            }
            if negative { return magnitude <= UInt64(Int64.max) + 1 ? Int64(truncatingIfNeeded: 0 &- magnitude) : nil }
            return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil
        }

        mutating func digits() throws(JSONReadError) {
            guard index < bytes.count, isDigit(bytes[index]) else { throw unexpected("a digit") }
            while index < bytes.count, isDigit(bytes[index]) { index &+= 1 }
        }

        func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }

        mutating func literal(_ word: StaticString) throws(JSONReadError) {
            let count = word.utf8CodeUnitCount
            let matches =
                index + count <= bytes.count
                && word.withUTF8Buffer { word in
                    (0..<count).allSatisfy { bytes[index + $0] == word[$0] }
                }
            guard matches else { throw unexpected("a value") }
            index &+= count
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x0A, 0x0D, 0x09: index &+= 1
                default: return
                }
            }
        }

        func unexpected(_ expected: String) -> JSONReadError {
            guard index < bytes.count else {
                return JSONReadError(reason: "unexpected end of input, expected \(expected)", offset: index)
            }
            let c = bytes[index]
            let shown = c >= 0x20 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(hex(c))"
            return JSONReadError(reason: "unexpected \(shown), expected \(expected)", offset: index)
        }

        func hex(_ c: UInt8) -> String {
            (c < 0x10 ? "0" : "") + String(c, radix: 16, uppercase: true)
        }
    }
}
