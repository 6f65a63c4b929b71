import CRdKafka

extension KafkaError {
    /// Maps a `rd_kafka_resp_err_t` to a ``KafkaError``; `nil` for `RD_KAFKA_RESP_ERR_NO_ERROR`.
    init?(rdkafka error: rd_kafka_resp_err_t, context: String? = nil) {
        guard error != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        let code = Code(rawValue: Int32(truncatingIfNeeded: error.rawValue))
        let text = String(cString: rd_kafka_err2str(error))
        self.init(
            code: code,
            name: String(cString: rd_kafka_err2name(error)),
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: KafkaError.retriableCodes.contains(code),
            isFatal: code == .fatal)
    }

    /// Maps and destroys an `rd_kafka_error_t`, which knows itself whether it is retriable or fatal.
    init(consuming error: OpaquePointer, context: String? = nil) {
        defer { rd_kafka_error_destroy(error) }
        let code = rd_kafka_error_code(error)
        let text = String(cString: rd_kafka_error_string(error))
        self.init(
            code: Code(rawValue: Int32(truncatingIfNeeded: code.rawValue)),
            name: String(cString: rd_kafka_error_name(error)),
            message: context.map { "\($0): \(text)" } ?? text,
            isRetriable: rd_kafka_error_is_retriable(error) != 0
                || KafkaError.retriableCodes.contains(Code(rawValue: Int32(truncatingIfNeeded: code.rawValue))),
            isFatal: rd_kafka_error_is_fatal(error) != 0)
    }

    /// Throws the mapped error unless `error` is `RD_KAFKA_RESP_ERR_NO_ERROR`.
    static func check(_ error: rd_kafka_resp_err_t, _ context: @autoclosure () -> String) throws {
        if let mapped = KafkaError(rdkafka: error, context: context()) { throw mapped }
    }

    /// Transient conditions: the same request can succeed later.
    static let retriableCodes: Set<Code> = [
        .messageTimedOut, .queueFull, .timedOut, .transport, .allBrokersDown, .leaderNotAvailable,
        .notLeaderForPartition, .requestTimedOut, .brokerNotAvailable, .networkException,
        .coordinatorNotAvailable, .notEnoughReplicas,
        Code(rawValue: -193),  // _RESOLVE
        Code(rawValue: 14),  // COORDINATOR_LOAD_IN_PROGRESS
        Code(rawValue: 16),  // NOT_COORDINATOR
        Code(rawValue: 20),  // NOT_ENOUGH_REPLICAS_AFTER_APPEND
        Code(rawValue: 27),  // REBALANCE_IN_PROGRESS
    ]
}
