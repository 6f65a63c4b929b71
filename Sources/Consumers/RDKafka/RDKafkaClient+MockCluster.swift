import CRdKafka

extension RDKafkaClient {
    /// The mock cluster's `bootstrap.servers`.
    func mockBootstrapServers() throws -> String {
        try withMockCluster { String(cString: rd_kafka_mock_cluster_bootstraps($0)) }
    }

    /// Creates a topic on the mock cluster.
    func mockCreateTopic(_ name: String, partitions: Int32, replicationFactor: Int32) throws {
        try withMockCluster { cluster in
            try KafkaError.check(
                rd_kafka_mock_topic_create(cluster, name, partitions, replicationFactor), "creating topic \(name)")
        }
    }

    /// Makes the next `errors.count` requests of `apiKey` fail with these codes, in order.
    func mockPushRequestErrors(apiKey: Int16, errors: [KafkaError.Code]) throws {
        try withMockCluster { cluster in
            let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
            codes.withUnsafeBufferPointer { buffer in
                rd_kafka_mock_push_request_errors_array(cluster, apiKey, buffer.count, buffer.baseAddress)
            }
        }
    }

    /// Takes a broker down (its connections close, new ones are refused) or back up.
    func mockSetBroker(_ brokerID: Int32, up: Bool) throws {
        try withMockCluster { cluster in
            let result = up ? rd_kafka_mock_broker_set_up(cluster, brokerID) : rd_kafka_mock_broker_set_down(cluster, brokerID)
            try KafkaError.check(result, "setting broker \(brokerID) \(up ? "up" : "down")")
        }
    }

    /// Moves a partition's leadership to `brokerID`.
    func mockSetPartitionLeader(topic: String, partition: Int32, brokerID: Int32) throws {
        try withMockCluster { cluster in
            try KafkaError.check(
                rd_kafka_mock_partition_set_leader(cluster, topic, partition, brokerID),
                "moving the leader of \(topic)[\(partition)] to broker \(brokerID)")
        }
    }
}
