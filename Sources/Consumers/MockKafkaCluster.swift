import Logging
import Shared

/// librdkafka's in-process mock Kafka cluster, for development and tests: real brokers on
/// loopback ports (other processes can reach them), topics, and fault injection.
///
/// The cluster lives as long as this object.
public final class MockKafkaCluster: Sendable {
    /// The `bootstrap.servers` string of the cluster, for example `127.0.0.1:40123,127.0.0.1:40125`.
    public let bootstrapServers: String
    /// The broker ids, `1...brokers`.
    public let brokerIDs: ClosedRange<Int32>

    private let client: RDKafkaClient

    /// Starts a cluster with `brokers` brokers.
    public init(brokers: Int = 3, logger: Logger = Logger(label: "assure.kafka.mock")) throws {
        guard brokers >= 1 else { throw KafkaError.local(.invalidArgument, "a mock cluster needs at least one broker") }
        client = try RDKafkaClient.makeMockCluster(brokers: Int32(brokers), callbacks: RDKafkaCallbacks(logger: logger))
        bootstrapServers = try client.mockBootstrapServers()
        brokerIDs = 1...Int32(brokers)
    }

    /// Creates a topic with `partitions` partitions (an existing topic is an error).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        try client.mockCreateTopic(name, partitions: Int32(partitions), replicationFactor: Int32(replicationFactor))
    }

    /// Makes the next `errors.count` requests of kind `api`, to any broker, fail with these codes in
    /// order (for example `.produce` with `[.notLeaderForPartition, .requestTimedOut]`).
    public func pushRequestErrors(_ api: KafkaAPIKey, _ errors: [KafkaError.Code]) throws {
        try client.mockPushRequestErrors(apiKey: api.rawValue, errors: errors)
    }

    /// Takes a broker down: its connections close and new ones are refused until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ brokerID: Int32) throws { try client.mockSetBroker(brokerID, up: false) }

    /// Brings a broker back. Clients reconnect within their `reconnect.backoff.max.ms`.
    public func setBrokerUp(_ brokerID: Int32) throws { try client.mockSetBroker(brokerID, up: true) }

    /// Makes `brokerID` the leader of one partition.
    public func setPartitionLeader(topic: String, partition: Int32, brokerID: Int32) throws {
        try client.mockSetPartitionLeader(topic: topic, partition: partition, brokerID: brokerID)
    }
}

/// A Kafka protocol request kind, for ``MockKafkaCluster/pushRequestErrors(_:_:)``.
public struct KafkaAPIKey: RawRepresentable, Sendable, Hashable {
    public var rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let produce = KafkaAPIKey(rawValue: 0)
    public static let fetch = KafkaAPIKey(rawValue: 1)
    public static let listOffsets = KafkaAPIKey(rawValue: 2)
    public static let metadata = KafkaAPIKey(rawValue: 3)
    public static let offsetCommit = KafkaAPIKey(rawValue: 8)
    public static let offsetFetch = KafkaAPIKey(rawValue: 9)
    public static let findCoordinator = KafkaAPIKey(rawValue: 10)
    public static let joinGroup = KafkaAPIKey(rawValue: 11)
    public static let heartbeat = KafkaAPIKey(rawValue: 12)
    public static let leaveGroup = KafkaAPIKey(rawValue: 13)
    public static let syncGroup = KafkaAPIKey(rawValue: 14)
    public static let initProducerID = KafkaAPIKey(rawValue: 22)
}
