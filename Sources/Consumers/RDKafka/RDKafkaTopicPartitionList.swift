import CRdKafka
import Shared

/// Converts between Swift partitions and `rd_kafka_topic_partition_list_t`, lending the C list
/// only inside a closure so it is always destroyed.
enum RDKafkaTopicPartitionList {
    /// Builds a C list from `partitions` (with `offset` set when given), lends it to `body`, and
    /// destroys it afterwards.
    static func with<Result>(
        _ partitions: [(TopicPartition, Int64?)],
        _ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws -> Result
    ) rethrows -> Result {
        let list = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for (partition, offset) in partitions {
            let element = rd_kafka_topic_partition_list_add(list, partition.topic, partition.partition)!
            if let offset { element.pointee.offset = offset }
        }
        return try body(list)
    }

    /// Reads a C list the caller keeps owning.
    static func read(_ list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [(TopicPartition, Int64)] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            let element = elements[index]
            return (TopicPartition(topic: String(cString: element.topic), partition: element.partition), element.offset)
        }
    }
}
