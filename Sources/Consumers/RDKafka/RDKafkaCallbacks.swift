import CRdKafka
import Logging
import Shared

/// What librdkafka's callbacks report to the Swift side. Held by ``RDKafkaClient`` for the whole
/// life of the `rd_kafka_t`, and reached from C through the configuration's opaque pointer.
///
/// The callbacks do the minimum: convert C values to Swift values and hand them over.
final class RDKafkaCallbacks: Sendable {
    /// Which side of an eager rebalance librdkafka reports.
    enum Rebalance: Sendable, Hashable {
        case assign([TopicPartition])
        case revoke([TopicPartition])
    }

    let logger: Logger
    /// A delivery report for the message produced with this id (called on the polling thread).
    let onDelivery: (@Sendable (UInt64, Result<KafkaDeliveryReport, KafkaError>) -> Void)?
    /// A rebalance, called on the polling thread inside `rd_kafka_consumer_poll`/`close`. For an
    /// assignment it returns the offsets to start from (missing partitions: the committed offset or
    /// `auto.offset.reset`), or `nil` to take no partitions at all.
    let onRebalance: (@Sendable (Rebalance) -> [TopicPartition: Int64]?)?
    /// A client-level error (called on the polling thread).
    let onError: (@Sendable (KafkaError) -> Void)?

    init(
        logger: Logger,
        onDelivery: (@Sendable (UInt64, Result<KafkaDeliveryReport, KafkaError>) -> Void)? = nil,
        onRebalance: (@Sendable (Rebalance) -> [TopicPartition: Int64]?)? = nil,
        onError: (@Sendable (KafkaError) -> Void)? = nil
    ) {
        self.logger = logger
        self.onDelivery = onDelivery
        self.onRebalance = onRebalance
        self.onError = onError
    }

    /// Installs the C callbacks on `conf` and points its opaque at `self`; the caller keeps `self`
    /// alive until the `rd_kafka_t` is destroyed.
    func install(on conf: OpaquePointer) {
        rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
        rd_kafka_conf_set_log_cb(conf) { rk, level, facility, message in
            guard let rk, let opaque = rd_kafka_opaque(rk) else { return }
            let callbacks = Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            callbacks.log(level: level, facility: facility, message: message)
        }
        rd_kafka_conf_set_error_cb(conf) { _, error, reason, opaque in
            guard let opaque else { return }
            let callbacks = Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
            let mapped = KafkaError(rdkafka: rd_kafka_resp_err_t(rawValue: error), context: reason.map { String(cString: $0) })
            if let mapped {
                callbacks.logger.warning("librdkafka error", metadata: ["assure.kafka.error": "\(mapped)"])
                callbacks.onError?(mapped)
            }
        }
        if onDelivery != nil {
            rd_kafka_conf_set_dr_msg_cb(conf) { _, message, opaque in
                guard let opaque, let message else { return }
                let callbacks = Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                callbacks.deliver(message.pointee)
            }
        }
        if onRebalance != nil {
            rd_kafka_conf_set_rebalance_cb(conf) { rk, error, partitions, opaque in
                guard let rk, let opaque else { return }
                let callbacks = Unmanaged<RDKafkaCallbacks>.fromOpaque(opaque).takeUnretainedValue()
                callbacks.rebalance(rk: rk, error: error, partitions: partitions)
            }
        }
    }

    private func log(level: Int32, facility: UnsafePointer<CChar>?, message: UnsafePointer<CChar>?) {
        // syslog levels: 0 emerg … 7 debug.
        let swiftLevel: Logger.Level =
            switch level {
            case ...2: .critical
            case 3: .error
            case 4: .warning
            case 5: .notice
            case 6: .info
            default: .debug
            }
        logger.log(
            level: swiftLevel, "\(message.map { String(cString: $0) } ?? "")",
            metadata: ["assure.kafka.facility": "\(facility.map { String(cString: $0) } ?? "")"])
    }

    private func deliver(_ message: rd_kafka_message_t) {
        guard let onDelivery, let opaque = message._private else { return }
        let id = UInt64(UInt(bitPattern: opaque))
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            onDelivery(id, .success(KafkaDeliveryReport(topic: topic, partition: message.partition, offset: message.offset)))
        } else {
            var error = KafkaError(rdkafka: message.err, context: "delivery to \(topic)[\(message.partition)] failed")!
            if message.err == RD_KAFKA_RESP_ERR__FATAL { error.isFatal = true }
            onDelivery(id, .failure(error))
        }
    }

    private func rebalance(
        rk: OpaquePointer, error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
    ) {
        guard let onRebalance else { return }
        let current = partitions.map { RDKafkaTopicPartitionList.read($0).map(\.0) } ?? []
        let cooperative = String(cString: rd_kafka_rebalance_protocol(rk)) == "COOPERATIVE"
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            let offsets = onRebalance(.assign(current))
            let chosen = offsets == nil ? [] : current.map { ($0, offsets?[$0]) }
            RDKafkaTopicPartitionList.with(chosen) { list in
                if cooperative {
                    if let failure = rd_kafka_incremental_assign(rk, list) {
                        logger.error("assign failed", metadata: ["assure.kafka.error": "\(KafkaError(consuming: failure))"])
                    }
                } else {
                    reportAssignError(rd_kafka_assign(rk, offsets == nil ? nil : list), "assign")
                }
            }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            _ = onRebalance(.revoke(current))
            if cooperative, let partitions {
                if let failure = rd_kafka_incremental_unassign(rk, partitions) {
                    logger.error("unassign failed", metadata: ["assure.kafka.error": "\(KafkaError(consuming: failure))"])
                }
            } else {
                reportAssignError(rd_kafka_assign(rk, nil), "unassign")
            }
        default:
            // A failed rebalance: drop the assignment so librdkafka can rejoin cleanly.
            logger.error("rebalance failed", metadata: ["assure.kafka.error": "\(KafkaError(rdkafka: error).map { "\($0)" } ?? "")"])
            _ = onRebalance(.revoke(current))
            reportAssignError(rd_kafka_assign(rk, nil), "unassign")
        }
    }

    private func reportAssignError(_ error: rd_kafka_resp_err_t, _ what: String) {
        if let mapped = KafkaError(rdkafka: error, context: what) {
            logger.error("\(what) failed", metadata: ["assure.kafka.error": "\(mapped)"])
        }
    }
}
