/// The one error type of the Kafka layer: a librdkafka error code, a message, and whether
/// retrying can help or the client is beyond repair.
///
/// Codes are librdkafka's `rd_kafka_resp_err_t` values (negative: raised inside the client,
/// positive: returned by a broker), so an operator can look any of them up in librdkafka's docs.
public struct KafkaError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A librdkafka error code (`rd_kafka_resp_err_t`).
    public struct Code: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// The message could not be delivered within `message.timeout.ms`.
        public static let messageTimedOut = Code(rawValue: -192)
        /// The producer's local queue is full (`queue.buffering.max.messages`).
        public static let queueFull = Code(rawValue: -184)
        /// A local operation (flush, rebalance answer) timed out.
        public static let timedOut = Code(rawValue: -185)
        /// A broker connection failed.
        public static let transport = Code(rawValue: -195)
        /// No broker is reachable.
        public static let allBrokersDown = Code(rawValue: -187)
        /// The client is closed or being destroyed.
        public static let destroyed = Code(rawValue: -197)
        /// An argument or configuration value was rejected.
        public static let invalidArgument = Code(rawValue: -186)
        /// The client is in a state that does not allow the operation.
        public static let state = Code(rawValue: -172)
        /// A fatal error (for example of the idempotent producer): the client must be recreated.
        public static let fatal = Code(rawValue: -150)
        /// The topic is not known to the cluster (local).
        public static let unknownTopic = Code(rawValue: -188)
        /// The partition is not known to the cluster (local).
        public static let unknownPartition = Code(rawValue: -190)
        /// The broker does not know the topic or partition.
        public static let unknownTopicOrPartition = Code(rawValue: 3)
        /// The partition has no leader right now.
        public static let leaderNotAvailable = Code(rawValue: 5)
        /// The broker is not the partition's leader.
        public static let notLeaderForPartition = Code(rawValue: 6)
        /// The broker did not answer in time.
        public static let requestTimedOut = Code(rawValue: 7)
        /// The broker is not available.
        public static let brokerNotAvailable = Code(rawValue: 8)
        /// The broker lost its connection while handling the request.
        public static let networkException = Code(rawValue: 13)
        /// The group coordinator is not available.
        public static let coordinatorNotAvailable = Code(rawValue: 15)
        /// Not enough in-sync replicas.
        public static let notEnoughReplicas = Code(rawValue: 19)

        public var description: String { "\(rawValue)" }
    }

    public var code: Code
    /// librdkafka's symbolic name for the code (for example `_MSG_TIMED_OUT`).
    public var name: String
    /// What went wrong and, where known, what to do next.
    public var message: String
    /// Retrying the same operation may succeed (a transient broker or network condition).
    public var isRetriable: Bool
    /// The client cannot recover: close it and create a new one.
    public var isFatal: Bool

    public init(code: Code, name: String, message: String, isRetriable: Bool = false, isFatal: Bool = false) {
        self.code = code
        self.name = name
        self.message = message
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    public var description: String {
        var text = "KafkaError(\(name) [\(code.rawValue)]: \(message)"
        if isRetriable { text += ", retriable" }
        if isFatal { text += ", fatal" }
        return text + ")"
    }

    /// A local error that did not come from librdkafka.
    static func local(_ code: Code, _ message: String) -> KafkaError {
        KafkaError(code: code, name: localName(code), message: message)
    }

    private static func localName(_ code: Code) -> String {
        switch code {
        case .timedOut: "_TIMED_OUT"
        case .destroyed: "_DESTROY"
        case .invalidArgument: "_INVALID_ARG"
        case .state: "_STATE"
        default: "ERR_\(code.rawValue)"
        }
    }

    /// The client was closed before the operation could run.
    static let closed = KafkaError.local(.destroyed, "the Kafka client is closed")
}
