extension JSONReader {
    /// A `Decodable` from a JSON text, through its own `init(from:)`: the same defaults (old rows
    /// without newer fields) as with `JSONDecoder`, at a fraction of its cost.
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decode(type, from: try parse(text))
    }

    public static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try JSONValueDecoder.decode(type, from: value, codingPath: [])
    }
}

/// A `Decoder` over a parsed `JSONValue`. Numbers follow `JSONDecoder`: an integer type takes a
/// whole number that fits, a floating-point type takes any number.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    /// The coding path as its parent's path and the last key: the array is built only when asked
    /// for (errors, nested objects), not for every field.
    let parentPath: [any CodingKey]
    let key: (any CodingKey)?
    var codingPath: [any CodingKey] { key.map { parentPath + [$0] } ?? parentPath }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSONValue, parentPath: [any CodingKey], key: (any CodingKey)?) {
        self.value = value
        self.parentPath = parentPath
        self.key = key
    }

    init(value: JSONValue, codingPath: [any CodingKey]) {
        self.init(value: value, parentPath: codingPath, key: nil)
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, codingPath: [any CodingKey]) throws -> T {
        try decode(type, from: value, parentPath: codingPath, key: nil)
    }

    static func decode<T: Decodable>(
        _ type: T.Type, from value: JSONValue, parentPath: [any CodingKey], key: (any CodingKey)?
    ) throws -> T {
        // A free-form value is already what the caller wants.
        if T.self == JSONValue.self { return value as! T }
        return try T(from: JSONValueDecoder(value: value, parentPath: parentPath, key: key))
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else {
            throw Self.mismatch([String: JSONValue].self, value, codingPath)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw Self.mismatch([JSONValue].self, value, codingPath) }
        return UnkeyedContainer(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleValueContainer(value: value, decoder: self)
    }

    // MARK: - Scalars

    static func bool(_ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]) throws -> Bool {
        guard case .bool(let b) = value else { throw mismatch(Bool.self, value, path()) }
        return b
    }

    static func string(_ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]) throws -> String {
        guard case .string(let s) = value else { throw mismatch(String.self, value, path()) }
        return s
    }

    static func integer<T: FixedWidthInteger>(_ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]) throws -> T {
        guard case .int(let i) = value else { throw mismatch(T.self, value, path()) }
        guard let result = T(exactly: i) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: path(), debugDescription: "Number \(i) does not fit in \(T.self)."))
        }
        return result
    }

    static func floating<T: BinaryFloatingPoint>(_ value: JSONValue, _ path: @autoclosure () -> [any CodingKey]) throws -> T {
        switch value {
        case .int(let i): return T(i)
        case .double(let d): return T(d)
        default: throw mismatch(T.self, value, path())
        }
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, _ path: [any CodingKey]) -> DecodingError {
        if case .null = value {
            return .valueNotFound(type, .init(codingPath: path, debugDescription: "Expected \(type) but found null."))
        }
        return .typeMismatch(type, .init(codingPath: path, debugDescription: "Expected \(type) but found \(value)."))
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    func value(_ key: Key) throws -> JSONValue {
        guard let value = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "No value for key \"\(key.stringValue)\"."))
        }
        return value
    }

    /// The value of a present, non-null key (`decodeIfPresent`), in one lookup.
    func presentValue(_ key: Key) -> JSONValue? {
        guard let value = fields[key.stringValue] else { return nil }
        if case .null = value { return nil }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool {
        if case .null = try value(key) { return true }
        return false
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
        try JSONValueDecoder.bool(value(key), codingPath + [key])
    }
    func decode(_ type: String.Type, forKey key: Key) throws -> String {
        try JSONValueDecoder.string(value(key), codingPath + [key])
    }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double {
        try JSONValueDecoder.floating(value(key), codingPath + [key])
    }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float {
        try JSONValueDecoder.floating(value(key), codingPath + [key])
    }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 {
        try JSONValueDecoder.integer(value(key), codingPath + [key])
    }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try JSONValueDecoder.decode(type, from: value(key), parentPath: codingPath, key: key)
    }

    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        try presentValue(key).map { try JSONValueDecoder.string($0, codingPath + [key]) }
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        try presentValue(key).map { try JSONValueDecoder.bool($0, codingPath + [key]) }
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        try presentValue(key).map { try JSONValueDecoder.integer($0, codingPath + [key]) }
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        try presentValue(key).map { try JSONValueDecoder.decode(type, from: $0, parentPath: codingPath, key: key) }
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try JSONValueDecoder(value: value(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONValueDecoder(value: value(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        JSONValueDecoder(value: fields["super"] ?? .null, codingPath: codingPath + [FieldKey(stringValue: "super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONValueDecoder(value: fields[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let elements: [JSONValue]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSONValue], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }
    var path: [any CodingKey] { codingPath + [IndexKey(intValue: currentIndex)] }

    mutating func next(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, .init(codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        defer { currentIndex += 1 }
        return elements[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                JSONValue.self, .init(codingPath: path, debugDescription: "Unkeyed container is at end."))
        }
        guard case .null = elements[currentIndex] else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try JSONValueDecoder.bool(next(type), path) }
    mutating func decode(_ type: String.Type) throws -> String { try JSONValueDecoder.string(next(type), path) }
    mutating func decode(_ type: Double.Type) throws -> Double { try JSONValueDecoder.floating(next(type), path) }
    mutating func decode(_ type: Float.Type) throws -> Float { try JSONValueDecoder.floating(next(type), path) }
    mutating func decode(_ type: Int.Type) throws -> Int { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONValueDecoder.integer(next(type), path) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let elementPath = path
        return try JSONValueDecoder.decode(type, from: next(type), codingPath: elementPath)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        let elementPath = path
        return try JSONValueDecoder(value: next(type), codingPath: elementPath).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let elementPath = path
        return try JSONValueDecoder(value: next([JSONValue].self), codingPath: elementPath).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let elementPath = path
        return JSONValueDecoder(value: try next(JSONValue.self), codingPath: elementPath)
    }
}

private struct SingleValueContainer: SingleValueDecodingContainer {
    let value: JSONValue
    let decoder: JSONValueDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }

    func decodeNil() -> Bool {
        if case .null = value { return true }
        return false
    }

    func decode(_ type: Bool.Type) throws -> Bool { try JSONValueDecoder.bool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try JSONValueDecoder.string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try JSONValueDecoder.floating(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try JSONValueDecoder.floating(value, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try JSONValueDecoder.integer(value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try JSONValueDecoder.integer(value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValueDecoder.decode(type, from: value, parentPath: decoder.parentPath, key: decoder.key)
    }
}

/// An array index in a coding path.
private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(intValue: Int) { self.intValue = intValue }
    init?(stringValue: String) { nil }
}
