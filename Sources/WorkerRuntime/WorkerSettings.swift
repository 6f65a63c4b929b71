import Consumers
import Persistence
import Shared

/// Everything one worker needs to know besides its Kafka and PostgreSQL connections (the batch
/// limits are the consumer's: `KafkaConfiguration`).
public struct WorkerSettings: Sendable {
    /// `ASSURE_GROUP_ID`.
    public var groupId: String
    /// `ASSURE_TOPIC_PREFIX`.
    public var topics: Topics
    /// Settle time, period, thresholds and plan policy of the checks.
    public var checks: CheckSettings
    /// `ASSURE_ALERT_DEDUP_S`.
    public var alertDedupSeconds: Int64
    /// `ASSURE_ALERT_GROUP_WAIT_MS`.
    public var alertGroupWaitMs: Int64
    /// `ASSURE_COMMAND_TTL_S`.
    public var commandTTLSeconds: Int64
    /// `ASSURE_COMMAND_KEY`; repairs are refused while it is unset.
    public var commandKey: [UInt8]?
    /// How often the sweeper looks for passed settle deadlines and event-time periods.
    public var sweepIntervalMs: Int64
    /// `ASSURE_STATE_CACHE_ENTRIES`: entity states kept in memory between batches (0: none).
    public var stateCacheEntries: Int
    /// Holds 100 000 users with room to spare, and keeps a worker of 1 000 000 users under 400 MB.
    public static let defaultStateCacheEntries = 250_000
    /// `ASSURE_STALL_MS`: how long a record may wait on a silent input before the input is stalled.
    public var stallMs: Int64
    /// `ASSURE_MAX_FUTURE_S`: how far an event time may lie ahead of the worker's clock.
    public var maxFutureSeconds: Int64
    /// `ASSURE_PROGRESS_TIMEOUT_S`: no progress (or a refused outbox row) this long makes `/readyz` answer 503.
    public var progressTimeoutSeconds: Int64
    /// `ASSURE_DB_DEADLINE_S`: the longest one unit of database work may go unanswered before it is
    /// abandoned and retried (see `DatabaseDeadline`).
    public var databaseDeadlineSeconds: Int64
    /// ``databaseDeadlineSeconds`` as a deadline.
    public var databaseDeadline: DatabaseDeadline { DatabaseDeadline(seconds: databaseDeadlineSeconds) }

    public init(
        groupId: String = KafkaConfiguration.defaultGroupID, topics: Topics = Topics(), checks: CheckSettings = CheckSettings(),
        alertDedupSeconds: Int64 = 3600, alertGroupWaitMs: Int64 = 5000, commandTTLSeconds: Int64 = 900,
        commandKey: [UInt8]? = nil, sweepIntervalMs: Int64 = 1000,
        stateCacheEntries: Int = Self.defaultStateCacheEntries, stallMs: Int64 = 300_000,
        maxFutureSeconds: Int64 = 86_400, progressTimeoutSeconds: Int64 = 60, databaseDeadlineSeconds: Int64 = 30
    ) {
        self.databaseDeadlineSeconds = databaseDeadlineSeconds
        self.maxFutureSeconds = maxFutureSeconds
        self.progressTimeoutSeconds = progressTimeoutSeconds
        self.groupId = groupId
        self.topics = topics
        self.checks = checks
        self.alertDedupSeconds = alertDedupSeconds
        self.alertGroupWaitMs = alertGroupWaitMs
        self.commandTTLSeconds = commandTTLSeconds
        self.commandKey = commandKey
        self.sweepIntervalMs = sweepIntervalMs
        self.stateCacheEntries = stateCacheEntries
        self.stallMs = stallMs
    }
}
