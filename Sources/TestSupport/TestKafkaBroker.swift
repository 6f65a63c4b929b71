import Consumers

/// A Kafka cluster tests can create topics on: librdkafka's mock cluster (on any librdkafka) or a
/// Tansu broker (``TansuTestBroker``, on librdkafka 2.1 and newer).
public protocol TestKafkaBroker: Sendable {
    /// The `bootstrap.servers` string of the cluster.
    var bootstrapServers: String { get }
    /// Creates a topic with `partitions` partitions.
    func createTestTopic(_ name: String, partitions: Int) async throws
}

extension MockKafkaCluster: TestKafkaBroker {
    public func createTestTopic(_ name: String, partitions: Int) async throws {
        try createTopic(name, partitions: partitions)
    }
}
