/// Typed settings of the Kafka clients, with documented defaults, plus raw librdkafka properties.
///
/// The typed fields become librdkafka properties (see ``producerProperties`` and
/// ``consumerProperties``); ``properties`` is applied last and overrides everything, so any
/// librdkafka setting can be tuned without a code change (see ``rdkafkaProperties(fromEnvironment:)``).
public struct KafkaConfiguration: Sendable, Hashable {
    /// `bootstrap.servers`, for example `["kafka-1:9092", "kafka-2:9092"]`. Default `localhost:9092`.
    public var bootstrapServers: [String]
    /// `client.id`, shown in broker logs. Default `assure-worker`.
    public var clientID: String
    /// `group.id` of the consumer group. Default ``defaultGroupID``.
    public var groupID: String
    /// `session.timeout.ms`: a member silent this long is dropped from the group. Default 10 000 ms
    /// (librdkafka's own default, 45 s, makes a crashed worker's partitions wait that long).
    public var sessionTimeoutMs: Int
    /// `heartbeat.interval.ms`. Default 3 000 ms (a third of the session timeout).
    public var heartbeatIntervalMs: Int
    /// `max.poll.interval.ms`: a consumer that takes longer than this between batches (or to answer
    /// a rebalance) leaves the group. Default 300 000 ms.
    public var maxPollIntervalMs: Int
    /// `partition.assignment.strategy`. Default `range,roundrobin`: eager assignors only
    /// (`cooperative-sticky` redelivers heavily with this librdkafka).
    public var partitionAssignmentStrategy: String
    /// `auto.offset.reset` for partitions without a stored offset. Default `earliest`.
    public var autoOffsetReset: String
    /// The most records one consumer batch carries. Default ``defaultMaxBatchSize``.
    public var maxBatchSize: Int
    /// How long a batch may wait for more records after its first one while the caller waits for it
    /// (it is handed over earlier when nothing more is queued locally). Default ``defaultMaxBatchWaitMs``.
    public var maxBatchWaitMs: Int
    /// The most key and value bytes one consumer batch carries (a batch ends at the record that
    /// reaches it), so large values cannot exhaust memory. Default ``defaultMaxBatchBytes``.
    public var maxBatchBytes: Int = KafkaConfiguration.defaultMaxBatchBytes
    /// How long the consumer waits for the caller's answer to a rebalance before it gives up and
    /// fails. Keep it below ``maxPollIntervalMs``. Default 60 000 ms.
    public var rebalanceAnswerTimeoutMs: Int
    /// `message.timeout.ms`: a produced message not acknowledged within this time fails.
    /// Default 30 000 ms.
    public var messageTimeoutMs: Int
    /// `linger.ms`: how long the producer waits to fill a batch. Default 5 ms.
    public var lingerMs: Int
    /// `reconnect.backoff.max.ms`. Default 10 000 ms (librdkafka's); lower it in tests.
    public var reconnectBackoffMaxMs: Int
    /// Fetch tuning applied to consumers by default: without it librdkafka 2.0.2 stalls between
    /// fetches and consumes about 4× slower (`fetch.wait.max.ms=5`, `queued.min.messages=10000000`,
    /// `queued.max.messages.kbytes`, bounded to 16 MiB). Override single keys through ``properties``.
    public var fetchTuning: [String: String]
    /// Raw librdkafka properties, applied last (they win over the typed fields).
    public var properties: [String: String]

    /// The one default of the group id and the batch limits; the worker's settings
    /// (`ASSURE_GROUP_ID`, `ASSURE_BATCH_MAX_*`) default to these too.
    public static let defaultGroupID = "assure-workers"
    public static let defaultMaxBatchSize = 10_000
    public static let defaultMaxBatchWaitMs = 50
    public static let defaultMaxBatchBytes = 64 << 20

    /// The fetch tuning measured to keep librdkafka 2.0.2's consumer busy.
    public static let defaultFetchTuning: [String: String] = [
        "fetch.wait.max.ms": "5",
        "queued.min.messages": "10000000",
        // Prefetch bounded to 16 MiB: enough to keep the consumer busy (about 70 000 ledger rows, half
        // a second at 150 000 events/s), not enough to exhaust memory. 128 MiB held about 420 MB of
        // RSS under a backlog (librdkafka's per-message overhead) and was no faster (issue 14).
        "queued.max.messages.kbytes": "16384",
    ]

    public init(
        bootstrapServers: [String] = ["localhost:9092"],
        clientID: String = "assure-worker",
        groupID: String = KafkaConfiguration.defaultGroupID,
        sessionTimeoutMs: Int = 10_000,
        heartbeatIntervalMs: Int = 3_000,
        maxPollIntervalMs: Int = 300_000,
        partitionAssignmentStrategy: String = "range,roundrobin",
        autoOffsetReset: String = "earliest",
        maxBatchSize: Int = KafkaConfiguration.defaultMaxBatchSize,
        maxBatchWaitMs: Int = KafkaConfiguration.defaultMaxBatchWaitMs,
        rebalanceAnswerTimeoutMs: Int = 60_000,
        messageTimeoutMs: Int = 30_000,
        lingerMs: Int = 5,
        reconnectBackoffMaxMs: Int = 10_000,
        fetchTuning: [String: String] = KafkaConfiguration.defaultFetchTuning,
        properties: [String: String] = [:]
    ) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.groupID = groupID
        self.sessionTimeoutMs = sessionTimeoutMs
        self.heartbeatIntervalMs = heartbeatIntervalMs
        self.maxPollIntervalMs = maxPollIntervalMs
        self.partitionAssignmentStrategy = partitionAssignmentStrategy
        self.autoOffsetReset = autoOffsetReset
        self.maxBatchSize = maxBatchSize
        self.maxBatchWaitMs = maxBatchWaitMs
        self.rebalanceAnswerTimeoutMs = rebalanceAnswerTimeoutMs
        self.messageTimeoutMs = messageTimeoutMs
        self.lingerMs = lingerMs
        self.reconnectBackoffMaxMs = reconnectBackoffMaxMs
        self.fetchTuning = fetchTuning
        self.properties = properties
    }

    /// Properties shared by producers and consumers.
    var commonProperties: [String: String] {
        [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "client.id": clientID,
            "reconnect.backoff.max.ms": String(reconnectBackoffMaxMs),
        ]
    }

    /// The librdkafka properties of the idempotent producer.
    public var producerProperties: [String: String] {
        var result = commonProperties
        result["enable.idempotence"] = "true"
        result["acks"] = "all"
        result["message.timeout.ms"] = String(messageTimeoutMs)
        result["linger.ms"] = String(lingerMs)
        result.merge(properties) { _, raw in raw }
        return result
    }

    /// The librdkafka properties of the group consumer: never commits or stores offsets by itself.
    public var consumerProperties: [String: String] {
        var result = commonProperties
        result["group.id"] = groupID
        result["session.timeout.ms"] = String(sessionTimeoutMs)
        result["heartbeat.interval.ms"] = String(heartbeatIntervalMs)
        result["max.poll.interval.ms"] = String(maxPollIntervalMs)
        result["partition.assignment.strategy"] = partitionAssignmentStrategy
        result["auto.offset.reset"] = autoOffsetReset
        result["enable.auto.commit"] = "false"
        result["enable.auto.offset.store"] = "false"
        result.merge(fetchTuning) { _, tuning in tuning }
        result.merge(properties) { _, raw in raw }
        return result
    }

    /// The prefix of environment variables that carry raw librdkafka properties.
    public static let environmentPrefix = "ASSURE_RDKAFKA_"

    /// Raw librdkafka properties from `ASSURE_RDKAFKA_<NAME>` variables: `<NAME>` lowercased with
    /// `_` replaced by `.`, for example `ASSURE_RDKAFKA_SESSION_TIMEOUT_MS=4000` →
    /// `session.timeout.ms=4000`. Other variables are ignored.
    public static func rdkafkaProperties(fromEnvironment environment: [String: String]) -> [String: String] {
        var result: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix(environmentPrefix) {
            let key = name.dropFirst(environmentPrefix.count).lowercased().replacingOccurrences("_", with: ".")
            if !key.isEmpty { result[key] = value }
        }
        return result
    }
}

extension String {
    /// `replacingOccurrences(of:with:)` without Foundation, for one character.
    fileprivate func replacingOccurrences(_ target: Character, with replacement: Character) -> String {
        String(map { $0 == target ? replacement : $0 })
    }
}
