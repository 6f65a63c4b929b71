/// One record read from a Kafka topic, as the project's own `Sendable` value (never a C pointer).
public struct InboundRecord: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    /// `nil` for a tombstone.
    public var value: [UInt8]?
    /// Broker or producer timestamp in milliseconds since the epoch, when known.
    public var timestampMs: Int64?
    public var headers: [RecordHeader]

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8]?,
        timestampMs: Int64? = nil, headers: [RecordHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestampMs = timestampMs
        self.headers = headers
    }

    /// The key as UTF-8 text, when it is some.
    public var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
}

/// One Kafka message header.
public struct RecordHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?
    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }
}

/// One message to produce.
public struct OutboundMessage: Sendable, Hashable {
    public var topic: String
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [RecordHeader]
    /// `nil` lets the partitioner choose from the key.
    public var partition: Int32?

    public init(topic: String, key: [UInt8]?, value: [UInt8]?, headers: [RecordHeader] = [], partition: Int32? = nil) {
        self.topic = topic
        self.key = key
        self.value = value
        self.headers = headers
        self.partition = partition
    }

    public init(topic: String, key: String?, value: String?, headers: [RecordHeader] = [], partition: Int32? = nil) {
        self.init(
            topic: topic, key: key.map { Array($0.utf8) }, value: value.map { Array($0.utf8) },
            headers: headers, partition: partition)
    }
}

/// A topic and partition.
public struct TopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32
    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }
    public static func < (lhs: TopicPartition, rhs: TopicPartition) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }
    public var description: String { "\(topic)[\(partition)]" }
}
