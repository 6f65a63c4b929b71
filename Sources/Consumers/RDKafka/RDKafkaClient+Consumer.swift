import CRdKafka
import Shared

extension RDKafkaClient {
    /// Joins the group for `topics` (the rebalance callback reports the assignment later).
    func subscribe(_ topics: [String]) throws {
        try RDKafkaTopicPartitionList.with(topics.map { (TopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA), nil) }) { list in
            try KafkaError.check(withHandle { rd_kafka_subscribe($0, list) }, "subscribing to \(topics)")
        }
    }

    /// The next record, or an error the broker or client reported for a partition, or `nil`
    /// when nothing arrived within `timeoutMs`. Rebalance callbacks run inside this call.
    /// - Important: blocking: call only on the consumer's dedicated thread.
    func consumerPoll(timeoutMs: Int32) -> Result<InboundRecord, KafkaError>? {
        guard let message = withHandle({ rd_kafka_consumer_poll($0, timeoutMs) }) else { return nil }
        defer { rd_kafka_message_destroy(message) }
        let topic = message.pointee.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.pointee.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            return .failure(
                KafkaError(rdkafka: message.pointee.err, context: "consuming \(topic)[\(message.pointee.partition)]")!)
        }
        return .success(Self.record(from: message, topic: topic))
    }

    private static func record(from message: UnsafeMutablePointer<rd_kafka_message_t>, topic: String) -> InboundRecord {
        let m = message.pointee
        let key = m.key.map { Array(UnsafeRawBufferPointer(start: $0, count: m.key_len)) }
        let value = m.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: m.len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        var headers: [RecordHeader] = []
        var cHeaders: OpaquePointer?
        if rd_kafka_message_headers(message, &cHeaders) == RD_KAFKA_RESP_ERR_NO_ERROR, let cHeaders {
            var index = 0
            var name: UnsafePointer<CChar>?
            var headerValue: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(cHeaders, index, &name, &headerValue, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                headers.append(
                    RecordHeader(
                        name: name.map { String(cString: $0) } ?? "",
                        value: headerValue.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }))
                index += 1
            }
        }
        return InboundRecord(
            topic: topic, partition: m.partition, offset: m.offset, key: key, value: value,
            timestampMs: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp, headers: headers)
    }

    /// The partition's high watermark as last seen in fetch responses; `nil` before the first fetch.
    /// Non-blocking: it reads librdkafka's cache, never the broker.
    func cachedHighWatermark(_ partition: TopicPartition) -> Int64? {
        var low: Int64 = -1
        var high: Int64 = -1
        let error = withHandle { rd_kafka_get_watermark_offsets($0, partition.topic, partition.partition, &low, &high) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
        return high
    }

    /// Leaves the group: revokes the assignment (through the rebalance callback) and closes.
    /// - Important: blocking: call only on the consumer's dedicated thread.
    func consumerClose() throws {
        try KafkaError.check(withHandle { rd_kafka_consumer_close($0) }, "closing the consumer")
    }
}
