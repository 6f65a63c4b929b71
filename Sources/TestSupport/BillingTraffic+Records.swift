import Shared

extension BillingTraffic {
    /// Messages as a consumer would read them: partitioned by a hash of the key (FNV-1a, so the
    /// same key always lands on the same partition number in every topic), offsets per partition.
    public static func inboundRecords(_ messages: [OutboundMessage], partitions: Int, timestampMs: Int64) -> [InboundRecord] {
        var nextOffsets: [TopicPartition: Int64] = [:]
        var records: [InboundRecord] = []
        records.reserveCapacity(messages.count)
        for message in messages {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in message.key ?? [] { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
            let partition = Int32(hash % UInt64(max(partitions, 1)))
            let topicPartition = TopicPartition(topic: message.topic, partition: partition)
            let offset = nextOffsets[topicPartition, default: 0]
            nextOffsets[topicPartition] = offset + 1
            records.append(
                InboundRecord(
                    topic: message.topic, partition: partition, offset: offset, key: message.key, value: message.value,
                    timestampMs: timestampMs))
        }
        return records
    }
}
