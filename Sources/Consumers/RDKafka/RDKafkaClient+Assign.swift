import CRdKafka
import Shared

extension RDKafkaClient {
    /// `RD_KAFKA_OFFSET_END` and `RD_KAFKA_OFFSET_BEGINNING` (macros, not imported).
    static let offsetEnd: Int64 = -1
    static let offsetBeginning: Int64 = -2

    /// The number of partitions of `topic`, from the cluster's metadata.
    /// - Important: blocking: call only on a dedicated thread.
    func partitionCount(of topic: String, timeoutMs: Int32) throws -> Int32 {
        try withHandle { handle in
            guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
                throw KafkaError.local(.invalidArgument, "no topic handle for \(topic)")
            }
            defer { rd_kafka_topic_destroy(topicHandle) }
            var metadata: UnsafePointer<rd_kafka_metadata>?
            try KafkaError.check(
                rd_kafka_metadata(handle, 0, topicHandle, &metadata, timeoutMs), "reading the metadata of \(topic)")
            guard let metadata else { throw KafkaError.local(.state, "no metadata for \(topic)") }
            defer { rd_kafka_metadata_destroy(metadata) }
            guard metadata.pointee.topic_cnt > 0, let topics = metadata.pointee.topics else {
                throw KafkaError.local(.state, "no metadata for \(topic)")
            }
            try KafkaError.check(topics[0].err, "reading the metadata of \(topic)")
            return topics[0].partition_cnt
        }
    }

    /// Takes `partitions` directly, from the given offsets, without joining a consumer group.
    func assign(_ partitions: [TopicPartition: Int64]) throws {
        try RDKafkaTopicPartitionList.with(partitions.map { ($0.key, $0.value) }) { list in
            try KafkaError.check(withHandle { rd_kafka_assign($0, list) }, "assigning \(partitions.count) partitions")
        }
    }
}
