/// A small lookup from byte strings (JSON keys, enum spellings) to values, compared in place.
///
/// All names live in one flat byte array so a lookup allocates nothing and retains nothing per entry.
struct ByteTable<Value: Sendable>: Sendable {
    private let storage: [UInt8]
    private let spans: [Span]
    private let values: [Value]
    /// One bit per (length, first byte) hash of the names: most misses stop here.
    private let filter: UInt64

    private struct Span: Sendable {
        var offset: Int
        var count: Int
    }

    init(_ entries: [(String, Value)]) {
        var storage: [UInt8] = []
        var spans: [Span] = []
        var filter: UInt64 = 0
        for (name, _) in entries {
            let utf8 = Array(name.utf8)
            precondition(!utf8.isEmpty, "empty names are not looked up")
            spans.append(Span(offset: storage.count, count: utf8.count))
            filter |= Self.filterBit(count: utf8.count, first: utf8[0])
            storage += utf8
        }
        self.storage = storage
        self.spans = spans
        self.values = entries.map(\.1)
        self.filter = filter
    }

    @inline(__always)
    private static func filterBit(count: Int, first: UInt8) -> UInt64 {
        1 &<< UInt64((count &+ Int(first) &* 7) & 63)
    }

    @inline(__always)
    private func matches(_ entry: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let span = spans[entry]
        guard span.count == key.count else { return false }
        return storage.withUnsafeBufferPointer { store in
            for j in 0..<span.count where store[span.offset &+ j] != key[j] { return false }
            return true
        }
    }

    /// The value of `key`, trying entry `hint` first and leaving it at the entry after the match: keys
    /// usually come in the same order as the table, so most lookups cost one comparison.
    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>, hint: inout Int) -> Value? {
        if hint < spans.count, matches(hint, key) {
            hint &+= 1
            return values[hint &- 1]
        }
        guard !key.isEmpty, filter & Self.filterBit(count: key.count, first: key[0]) != 0 else { return nil }
        for entry in 0..<spans.count where matches(entry, key) {
            hint = entry &+ 1
            return values[entry]
        }
        return nil
    }

    @inline(__always)
    func lookup(_ key: UnsafeBufferPointer<UInt8>) -> Value? {
        var hint = Int.max
        return lookup(key, hint: &hint)
    }

    /// Looks up a JSON string (key or value), resolving escapes when it has any.
    @inline(__always)
    func lookup(_ ref: StringRef, in scanner: JSONScanner, hint: inout Int) throws(DecodeProblem) -> Value? {
        if !ref.escaped { return lookup(scanner.raw(ref), hint: &hint) }
        var h = hint
        let value = try scanner.withBytes(of: ref) { (p) throws(DecodeProblem) -> Value? in lookup(p, hint: &h) }
        hint = h
        return value
    }

    @inline(__always)
    func lookup(_ ref: StringRef, in scanner: JSONScanner) throws(DecodeProblem) -> Value? {
        var hint = Int.max
        return try lookup(ref, in: scanner, hint: &hint)
    }
}

/// The JSON keys of one record kind in one naming (contract camelCase or Debezium snake_case columns).
struct FieldTable: Sendable {
    /// Key → field number.
    let keys: ByteTable<Int>
    /// Field number → the name used in reasons.
    let names: [String]

    /// `names[i]` is field `i`'s key; `aliases` are further keys of an existing field.
    init(_ names: [String], aliases: [(String, Int)] = []) {
        self.names = names
        self.keys = ByteTable(names.enumerated().map { ($0.element, $0.offset) } + aliases)
    }
}

/// A table of an enum's raw spellings, with the list used in "expected one of" reasons.
struct EnumTable<Value: Sendable>: Sendable {
    let table: ByteTable<Value>
    let allowed: String

    init(_ entries: [(String, Value)]) {
        table = ByteTable(entries)
        allowed = entries.map(\.0).joined(separator: ", ")
    }
}

extension EnumTable where Value: CaseIterable & RawRepresentable, Value.RawValue == String {
    init() { self.init(Value.allCases.map { ($0.rawValue, $0) }) }
}
