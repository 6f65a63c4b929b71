import CheckPipeline
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Shared

/// Opens and resolves issues whose settle deadline (processing time) or stale-subscription period
/// (event time) has passed, even when no new record arrives for the entity.
public struct Sweeper: Service {
    let client: PostgresClient
    let settings: WorkerSettings
    let pipeline: IssuePipeline
    /// Reads the due states locked and refreshes the batch processor's cache with what it writes.
    let states: EntityStateAccess
    let relayWakeup: WakeupSignal
    let alertWakeup: WakeupSignal
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// Most entities re-evaluated per transaction.
    let batchSize = 1000

    public init(
        client: PostgresClient, settings: WorkerSettings, relayWakeup: WakeupSignal, alertWakeup: WakeupSignal,
        logger: Logger, clock: @escaping @Sendable () -> Int64 = WallClock.nowMs, cache: EntityStateCache? = nil
    ) {
        self.client = client
        self.settings = settings
        self.pipeline = IssuePipeline(settings: settings.checks)
        self.states = EntityStateAccess(settings: settings.checks, cache: cache)
        self.relayWakeup = relayWakeup
        self.alertWakeup = alertWakeup
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let sweeper = self
                while try await settings.databaseDeadline.run("a sweep", { try await sweeper.sweepOnce() }).due >= batchSize {}
            } catch {
                logger.warning("Sweep failed; retrying", metadata: ["assure.error": "\(String(reflecting: error))"])
            }
            try? await Task.sleep(for: .milliseconds(settings.sweepIntervalMs))
        }
    }

    /// Re-evaluates one round of due entities; returns how many were due and how many issue events resulted.
    @discardableResult
    public func sweepOnce(nowMs: Int64? = nil) async throws -> (due: Int, events: Int) {
        let now = nowMs ?? clock()
        let result = try await client.withTransaction(logger: logger) { connection -> (Int, Int, EntityStateWrite?) in
            try await EntityStateRepository.preferIndexLookups(on: connection, logger: logger)
            let watermark = try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger)
            let health = try await InputHealthRepository.load(on: connection, logger: logger)
            InputHealth.recordMetrics(health, nowMs: now)
            let due = try await EntityStateRepository.dueKeys(
                nowMs: now, watermarkMs: watermark, limit: batchSize, on: connection, logger: logger)
            // Entities whose held checks can be released: their inputs delivered again.
            let released = try await EntityStateRepository.releasableHeldKeys(
                lastDelivered: InputHealth.lastDelivered(health), limit: batchSize, on: connection, logger: logger)
            let keys = Set((due + released).compactMap { StateKey(stringValue: $0.key) })
            // Snoozes that ran out: the issue's next event clears them.
            let snoozeEnded = try await IssueRepository.snoozesEnded(
                atMs: now, limit: batchSize, on: connection, logger: logger)
            guard !keys.isEmpty || !snoozeEnded.isEmpty else { return (0, 0, nil) }
            var changes: [IssueChange] = []
            var written: EntityStateWrite?
            if !keys.isEmpty {
                let read = try await states.read(keys, .locked, on: connection, logger: logger)
                var pipeline = self.pipeline
                pipeline.inputs = InputHealth.clock(from: health)
                // The pipeline's changes of a tick carry the timer cause already.
                changes = pipeline.tick(
                    keys: keys.sorted(), nowMs: now, watermarkMs: watermark ?? Int64.min, store: read.store)
                let write = states.encode(read)
                try await states.write(write, on: connection, logger: logger)
                written = write
            }
            for (issueId, check) in snoozeEnded {
                changes.append(IssueChange(issueId: issueId, check: check, userId: nil, kind: .snoozeEnded, atMs: now))
            }
            let events = try await IssueRepository.apply(changes, on: connection, logger: logger)
            try await OutboxRepository.append(
                try events.map { try IssueOutbox.message(for: $0, topics: settings.topics) }, on: connection,
                logger: logger)
            if let written {
                try await states.count(written, shard: EntityStateAccess.sharedCountShard, on: connection, logger: logger)
            }
            // Held releases do not count towards "due": they alone must not keep the loop going.
            return (due.count + snoozeEnded.count, events.count, written)
        }
        if let written = result.2 { states.committed(written) }
        let stallEvents = try await client.withTransaction(logger: logger) { connection in
            try await InputHealth(client: client, settings: settings, logger: logger).evaluateStalls(
                nowMs: now, on: connection)
        }
        if result.1 > 0 || !stallEvents.isEmpty {
            relayWakeup.signal()
            alertWakeup.signal()
        }
        return (result.0, result.1 + stallEvents.count)
    }
}
