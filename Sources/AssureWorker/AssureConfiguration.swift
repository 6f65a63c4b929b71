import Consumers
import Foundation
import Logging
import Persistence
import Shared
import WorkerRuntime

/// Every setting of the contract's "Running a worker" table, read from the environment (and nowhere else).
struct AssureConfiguration: Sendable {
    var kafkaBrokers: String
    var databaseURL: String
    var httpPort: Int
    var adminTokensPath: String?
    /// Raw librdkafka properties from `ASSURE_RDKAFKA_<NAME>`.
    var rdkafkaProperties: [String: String]
    /// `ASSURE_BAD_RECORD_POLICY`: `dead-letter` (default) or `fail`.
    var deadLetterPolicy: DeadLetterPolicy
    var worker: WorkerSettings
    /// `ASSURE_BATCH_MAX_RECORDS`: most records consumed into one batch (one transaction).
    var batchMaxRecords = KafkaConfiguration.defaultMaxBatchSize
    /// `ASSURE_BATCH_MAX_WAIT_MS`: longest wait for a batch to fill after its first record while the
    /// consumer waits for it (it is handed over sooner when nothing more is fetched).
    var batchMaxWaitMs = KafkaConfiguration.defaultMaxBatchWaitMs
    /// `ASSURE_BATCH_MAX_BYTES`: most payload bytes consumed into one batch.
    var batchMaxBytes = KafkaConfiguration.defaultMaxBatchBytes
    /// `ASSURE_LOG_FORMAT`: `text` (default) or `json` (one JSON object per line, for log collectors).
    var logFormat: LogFormat = .text
    /// `ASSURE_ACTOR_ID` (else `USER`, else `cli`): who the CLI's repair commands name.
    var actorId: String = "cli"
    /// `ASSURE_ACTOR_ROLE`: the role the CLI's repair commands claim.
    var actorRole: String = "ADMIN"

    /// `ASSURE_LOG_LEVEL`: `unset` when the variable is not set; an unknown value is `info`.
    static func logLevel(
        _ env: [String: String] = ProcessInfo.processInfo.environment, unset: Logger.Level = .info
    ) -> Logger.Level {
        guard let raw = env["ASSURE_LOG_LEVEL"] else { return unset }
        return Logger.Level(rawValue: raw) ?? .info
    }

    /// `ASSURE_DATABASE_URL`, for commands that need only the database (`migrate`).
    static func databaseURL(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        env["ASSURE_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? DatabaseConfiguration.defaultURL
    }

    /// The environment of a child `assure-worker` (`bench`): this process's, with `setting` applied and
    /// `unlessSet` filling the variables this process leaves unset.
    static func childEnvironment(
        setting: [String: String], unlessSet: [String: String],
        _ env: [String: String] = ProcessInfo.processInfo.environment
    ) -> [String: String] {
        env.merging(unlessSet) { current, _ in current }.merging(setting) { _, new in new }
    }

    /// `ASSURE_TOPIC_PREFIX` (an empty prefix is allowed).
    static func topicPrefix(_ env: [String: String] = ProcessInfo.processInfo.environment) -> String {
        env["ASSURE_TOPIC_PREFIX"] ?? "billing."
    }

    /// How log lines are written.
    enum LogFormat: String, Sendable {
        case text
        case json
    }

    static func parseLogFormat(_ env: [String: String]) throws -> LogFormat {
        guard let raw = env["ASSURE_LOG_FORMAT"], !raw.isEmpty else { return .text }
        guard let format = LogFormat(rawValue: raw.lowercased()) else {
            throw Invalid(description: "ASSURE_LOG_FORMAT=\(raw) is neither text nor json")
        }
        return format
    }

    /// The Kafka clients' settings: brokers, the group id, and every `ASSURE_RDKAFKA_*` property.
    var kafkaConfiguration: KafkaConfiguration {
        var kafka = KafkaConfiguration(
            bootstrapServers: kafkaBrokers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) },
            groupID: worker.groupId, maxBatchSize: batchMaxRecords, maxBatchWaitMs: batchMaxWaitMs,
            properties: rdkafkaProperties)
        kafka.maxBatchBytes = batchMaxBytes
        return kafka
    }

    static func parsePolicy(_ raw: String) throws -> DeadLetterPolicy {
        guard let policy = DeadLetterPolicy(rawValue: raw) else {
            throw Invalid(description: "ASSURE_BAD_RECORD_POLICY=\(raw) is neither dead-letter nor fail")
        }
        return policy
    }

    /// A setting that could not be used; the process exits non-zero with this one-line reason.
    struct Invalid: Error, CustomStringConvertible {
        var description: String
    }

    static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws
        -> AssureConfiguration
    {
        func integer(_ name: String, default value: Int64, range: ClosedRange<Int64>) throws -> Int64 {
            guard let raw = env[name], !raw.isEmpty else { return value }
            guard let parsed = Int64(raw.trimmingCharacters(in: .whitespaces)), range.contains(parsed) else {
                throw Invalid(description: "\(name)=\(raw) is not a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            return parsed
        }
        let prefix = topicPrefix(env)
        var checks = CheckSettings(
            settleMs: try integer("ASSURE_SETTLE_MS", default: 30_000, range: 0...86_400_000),
            periodDays: try integer("ASSURE_PERIOD_DAYS", default: 45, range: 1...365),
            largeMovement: try integer("ASSURE_LARGE_MOVEMENT", default: 100_000, range: 1...Int64.max))
        if let raw = env["ASSURE_LEDGER_BASELINE"], !raw.isEmpty {
            guard let baseline = LedgerBaseline(rawValue: raw.trimmingCharacters(in: .whitespaces)) else {
                throw Invalid(description: "ASSURE_LEDGER_BASELINE=\(raw) is not one of full, first-seen")
            }
            checks.ledgerBaseline = baseline
        }
        if let path = env["ASSURE_PLAN_POLICY"], !path.isEmpty {
            checks.planPolicy = try loadPlanPolicy(path: path)
        }
        let worker = WorkerSettings(
            groupId: env["ASSURE_GROUP_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? KafkaConfiguration.defaultGroupID,
            topics: Topics(prefix: prefix),
            checks: checks,
            alertDedupSeconds: try integer("ASSURE_ALERT_DEDUP_S", default: 3600, range: 1...31_536_000),
            alertGroupWaitMs: try integer("ASSURE_ALERT_GROUP_WAIT_MS", default: 5000, range: 0...3_600_000),
            commandTTLSeconds: try integer("ASSURE_COMMAND_TTL_S", default: 900, range: 1...31_536_000),
            commandKey: env["ASSURE_COMMAND_KEY"].flatMap { $0.isEmpty ? nil : Array($0.utf8) },
            stateCacheEntries: Int(try integer("ASSURE_STATE_CACHE_ENTRIES", default: Int64(WorkerSettings.defaultStateCacheEntries), range: 0...100_000_000)),
            stallMs: try integer("ASSURE_STALL_MS", default: 300_000, range: 1...604_800_000),
            maxFutureSeconds: try integer("ASSURE_MAX_FUTURE_S", default: 86_400, range: 0...315_360_000),
            progressTimeoutSeconds: try integer("ASSURE_PROGRESS_TIMEOUT_S", default: 60, range: 1...86_400),
            databaseDeadlineSeconds: try integer("ASSURE_DB_DEADLINE_S", default: 30, range: 1...3600))
        let rdkafka = KafkaConfiguration.rdkafkaProperties(fromEnvironment: env)
        let policy = try env["ASSURE_BAD_RECORD_POLICY"].flatMap { $0.isEmpty ? nil : $0 }.map(parsePolicy) ?? .deadLetter
        return AssureConfiguration(
            kafkaBrokers: env["ASSURE_KAFKA_BROKERS"].flatMap { $0.isEmpty ? nil : $0 } ?? "localhost:9092",
            databaseURL: databaseURL(env),
            httpPort: Int(try integer("ASSURE_HTTP_PORT", default: 8080, range: 0...65_535)),
            adminTokensPath: env["ASSURE_ADMIN_TOKENS"].flatMap { $0.isEmpty ? nil : $0 },
            rdkafkaProperties: rdkafka,
            deadLetterPolicy: policy,
            worker: worker,
            batchMaxRecords: Int(
                try integer(
                    "ASSURE_BATCH_MAX_RECORDS", default: Int64(KafkaConfiguration.defaultMaxBatchSize), range: 1...1_000_000)),
            batchMaxWaitMs: Int(
                try integer(
                    "ASSURE_BATCH_MAX_WAIT_MS", default: Int64(KafkaConfiguration.defaultMaxBatchWaitMs), range: 1...60_000)),
            batchMaxBytes: Int(
                try integer(
                    "ASSURE_BATCH_MAX_BYTES", default: Int64(KafkaConfiguration.defaultMaxBatchBytes),
                    range: 1 << 16...1 << 32)),
            logFormat: try parseLogFormat(env),
            actorId: env["ASSURE_ACTOR_ID"] ?? env["USER"] ?? "cli",
            actorRole: env["ASSURE_ACTOR_ROLE"] ?? "ADMIN")
    }

    static func loadPlanPolicy(path: String) throws -> PlanPolicy {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "ASSURE_PLAN_POLICY=\(path): file not found or unreadable")
        }
        do {
            return try JSONDecoder().decode(PlanPolicy.self, from: data)
        } catch {
            throw Invalid(
                description:
                    "ASSURE_PLAN_POLICY=\(path): expected {\"features\": {\"<feature>\": \"free|premium|team\"}}")
        }
    }
}
