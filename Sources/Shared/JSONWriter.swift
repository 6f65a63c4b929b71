/// Compact JSON written byte by byte into one growing buffer: the contract's events, the report.
///
/// Foundation's `JSONEncoder` builds a tree of boxed values per event and (on Linux) writes object
/// keys in hash order; this writes the bytes directly, keys in the order the fields are written.
/// The text matches what `JSONEncoder` with `.withoutEscapingSlashes` writes, up to key order:
/// `"` `\` and control characters escaped (`\b \f \n \r \t`, others as `\u00xx`), `/` and non-ASCII
/// as they are (UTF-8), doubles as their shortest round-trip form with a trailing `.0` dropped.
/// Separators are the writer's business: callers only open, write and close.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]
    /// Whether the next key or value needs a `,` before it.
    private var needsComma = false

    public init(reservingCapacity capacity: Int = 1024) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    // MARK: - Structure

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A key of the object being written (escaped as any string); its value follows.
    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A field name from the source: a literal that needs no escaping, copied as it is.
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        raw("\":")
        needsComma = false
    }

    // MARK: - Values (array elements, or the value of the last key)

    public mutating func null() {
        separate()
        raw("null")
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        raw(value ? "true" : "false")
        needsComma = true
    }

    public mutating func int(_ value: Int64) {
        separate()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        if magnitude < 10 {
            bytes.append(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: magnitude))
        } else {
            // At most 20 digits (UInt64), written backwards into a stack buffer.
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
                var start = 20
                while magnitude != 0 {
                    start &-= 1
                    let (quotient, remainder) = magnitude.quotientAndRemainder(dividingBy: 10)
                    digits[start] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remainder)
                    magnitude = quotient
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[start..<20]))
            }
        }
        needsComma = true
    }

    /// The shortest text that parses back to `value`, `1` for 1.0 (as Foundation writes it).
    /// JSON has no NaN or infinity: those are written as `null` (where `JSONEncoder` would throw).
    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
        needsComma = true
    }

    public mutating func string(_ value: String) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { appendEscaped($0) }
        bytes.append(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A free-form value; object keys sorted, so the same value always gives the same bytes.
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let fields):
            beginObject()
            for (name, field) in fields.sorted(by: { $0.key < $1.key }) {
                key(name)
                self.value(field)
            }
            endObject()
        }
    }

    /// An object from its field list.
    public mutating func object(_ value: some JSONFields) {
        beginObject()
        value.writeFields(into: &self)
        endObject()
    }

    // MARK: - Bytes

    @inline(__always)
    private mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    /// Copies runs that need no escaping in one go.
    private mutating func appendEscaped(_ utf8: UnsafeBufferPointer<UInt8>) {
        var start = 0
        for index in 0..<utf8.count {
            let c = utf8[index]
            guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
            if start < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<index])) }
            start = index &+ 1
            let escaped: UInt8
            switch c {
            case UInt8(ascii: "\""): escaped = UInt8(ascii: "\"")
            case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
            case 0x08: escaped = UInt8(ascii: "b")
            case 0x0C: escaped = UInt8(ascii: "f")
            case 0x0A: escaped = UInt8(ascii: "n")
            case 0x0D: escaped = UInt8(ascii: "r")
            case 0x09: escaped = UInt8(ascii: "t")
            default:
                // \u00xx, lowercase hex as Foundation writes it.
                raw("\\u00")
                bytes.append(Self.hexDigit(c >> 4))
                bytes.append(Self.hexDigit(c & 0x0F))
                continue
            }
            bytes.append(UInt8(ascii: "\\"))
            bytes.append(escaped)
        }
        if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") &+ nibble : UInt8(ascii: "a") &+ (nibble &- 10)
    }
}

extension JSONWriter: JSONFieldVisitor {
    public mutating func string(_ key: StaticString, _ value: String?) {
        self.key(key)
        if let value { string(value) } else { null() }
    }

    public mutating func int(_ key: StaticString, _ value: Int64?) {
        self.key(key)
        if let value { int(value) } else { null() }
    }

    public mutating func bool(_ key: StaticString, _ value: Bool) {
        self.key(key)
        bool(value)
    }

    public mutating func json(_ key: StaticString, _ value: JSONValue) {
        self.key(key)
        self.value(value)
    }

    public mutating func object<T: JSONFields>(_ key: StaticString, _ value: T?) {
        self.key(key)
        if let value { object(value) } else { null() }
    }

    public mutating func strings(_ key: StaticString, _ values: [String]) {
        self.key(key)
        beginArray()
        for value in values { string(value) }
        endArray()
    }

    public mutating func objects<T: JSONFields>(_ key: StaticString, _ values: [T]) {
        self.key(key)
        beginArray()
        for value in values { object(value) }
        endArray()
    }
}
