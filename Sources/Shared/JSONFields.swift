/// A JSON object type with one field list, in wire order, for both ways it is written: the bytes
/// (`jsonBytes()`, through `JSONWriter`) and `Encodable` (`encode(to:)`, which replays the same
/// list into a keyed container, for `JSONEncoder` users such as the admin API's other answers).
///
/// A nil optional is an explicit `null` (the contract shows `"resolvedAt": null`, and clients may
/// look for the key); a field left out when nil is simply not visited.
public protocol JSONFields: Encodable {
    func writeFields<Visitor: JSONFieldVisitor>(into visitor: inout Visitor) throws(Visitor.Failure)
}

/// What a field list is written to. Keys are literals of the source (plain names, no escaping).
public protocol JSONFieldVisitor {
    associatedtype Failure: Error
    mutating func string(_ key: StaticString, _ value: String?) throws(Failure)
    mutating func int(_ key: StaticString, _ value: Int64?) throws(Failure)
    mutating func bool(_ key: StaticString, _ value: Bool) throws(Failure)
    mutating func json(_ key: StaticString, _ value: JSONValue) throws(Failure)
    mutating func object<T: JSONFields>(_ key: StaticString, _ value: T?) throws(Failure)
    mutating func strings(_ key: StaticString, _ values: [String]) throws(Failure)
    mutating func objects<T: JSONFields>(_ key: StaticString, _ values: [T]) throws(Failure)
}

extension JSONFields {
    /// The compact JSON object.
    public func jsonBytes() -> [UInt8] {
        var writer = JSONWriter()
        writer.object(self)
        return writer.bytes
    }

    public func encode(to encoder: any Encoder) throws {
        var visitor = EncoderFieldVisitor(container: encoder.container(keyedBy: FieldKey.self))
        try writeFields(into: &visitor)
    }
}

/// Replays a field list into an `Encoder`'s keyed container.
struct EncoderFieldVisitor: JSONFieldVisitor {
    typealias Failure = any Error
    var container: KeyedEncodingContainer<FieldKey>

    // Unwrapped first, so the encoder takes its String and Int64 paths rather than the generic one.
    mutating func string(_ key: StaticString, _ value: String?) throws {
        if let value {
            try container.encode(value, forKey: FieldKey(key))
        } else {
            try container.encodeNil(forKey: FieldKey(key))
        }
    }

    mutating func int(_ key: StaticString, _ value: Int64?) throws {
        if let value {
            try container.encode(value, forKey: FieldKey(key))
        } else {
            try container.encodeNil(forKey: FieldKey(key))
        }
    }

    mutating func bool(_ key: StaticString, _ value: Bool) throws {
        try container.encode(value, forKey: FieldKey(key))
    }

    mutating func json(_ key: StaticString, _ value: JSONValue) throws {
        try container.encode(value, forKey: FieldKey(key))
    }

    mutating func object<T: JSONFields>(_ key: StaticString, _ value: T?) throws {
        try container.encode(value, forKey: FieldKey(key))
    }

    mutating func strings(_ key: StaticString, _ values: [String]) throws {
        try container.encode(values, forKey: FieldKey(key))
    }

    mutating func objects<T: JSONFields>(_ key: StaticString, _ values: [T]) throws {
        try container.encode(values, forKey: FieldKey(key))
    }
}

/// A coding key named at run time (the field lists name their keys).
struct FieldKey: CodingKey {
    let stringValue: String
    var intValue: Int? { nil }

    init(_ name: StaticString) { stringValue = name.description }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
