import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Shared

/// Evaluates the cluster's alert-worthy issue set after batches and on a timer, and writes alerts to the outbox.
///
/// The policy state lives in one PostgreSQL row, locked for the evaluation (`SKIP LOCKED`: while
/// another worker evaluates, this one skips its turn), and the alert goes into the outbox in the same
/// transaction, so it is neither lost nor doubled when a worker dies between deciding and publishing.
public struct AlertEvaluator: Service {
    let client: PostgresClient
    let policy: AlertPolicy
    let topics: Topics
    let wakeup: WakeupSignal
    let relayWakeup: WakeupSignal
    let intervalMs: Int64
    /// The open issues as last read: an evaluation after every batch decodes only what changed.
    let openIssues = OpenIssueCache()
    let deadline: DatabaseDeadline
    let logger: Logger
    let clock: @Sendable () -> Int64

    public init(
        client: PostgresClient, settings: WorkerSettings, wakeup: WakeupSignal, relayWakeup: WakeupSignal,
        intervalMs: Int64 = 1000, logger: Logger, clock: @escaping @Sendable () -> Int64 = WallClock.nowMs
    ) {
        self.client = client
        self.policy = AlertPolicy(dedupWindowSeconds: settings.alertDedupSeconds, groupWaitMs: settings.alertGroupWaitMs)
        self.topics = settings.topics
        self.wakeup = wakeup
        self.relayWakeup = relayWakeup
        self.intervalMs = intervalMs
        self.deadline = settings.databaseDeadline
        self.logger = logger
        self.clock = clock
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let evaluator = self
                _ = try await deadline.run("an alert evaluation") { try await evaluator.evaluateOnce() }
            } catch {
                logger.warning("Alert evaluation failed", metadata: ["assure.error": "\(String(reflecting: error))"])
            }
            await wakeup.wait(timeoutMs: intervalMs)
        }
    }

    /// One evaluation; returns the decision (`.none` when another worker was evaluating).
    @discardableResult
    public func evaluateOnce() async throws -> AlertPolicy.Decision {
        let decision = try await client.withTransaction(logger: logger) { connection -> AlertPolicy.Decision in
            guard var state = try await Self.lockState(on: connection, logger: logger) else { return .none }
            let open = try await openIssues.open(on: connection, logger: logger)
            let decision = policy.evaluate(
                AlertPolicy.alertWorthy(open), nowMs: clock(), state: &state,
                alertId: { "alrt_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "") })
            if case .alert(let alert) = decision {
                try await OutboxRepository.append(
                    [OutboundMessage(topic: topics.alerts, key: Array(alert.fingerprint.utf8), value: alert.jsonBytes())],
                    on: connection, logger: logger)
                logger.notice(
                    "Alert emitted",
                    metadata: ["assure.alert.fingerprint": "\(alert.fingerprint)", "assure.alert.issues": "\(alert.issueCount)"])
            }
            try await Self.saveState(state, on: connection, logger: logger)
            return decision
        }
        switch decision {
        case .alert:
            WorkerMetrics().alert(emitted: true)
            relayWakeup.signal()
        case .suppressed: WorkerMetrics().alert(emitted: false)
        case .none, .waiting: break
        }
        return decision
    }

    static func lockState(on connection: PostgresConnection, logger: Logger) async throws -> AlertPolicy.State? {
        guard let text = try await AlertPolicyStateRepository.lock(on: connection, logger: logger) else { return nil }
        if text == "{}" { return AlertPolicy.State() }
        return try JSONDecoder().decode(AlertPolicy.State.self, from: Data(text.utf8))
    }

    static func saveState(_ state: AlertPolicy.State, on connection: PostgresConnection, logger: Logger) async throws {
        let text = String(decoding: try JSONEncoder().encode(state), as: UTF8.self)
        try await AlertPolicyStateRepository.save(text, on: connection, logger: logger)
    }
}

/// Wall-clock milliseconds since the epoch.
public enum WallClock {
    @Sendable public static func nowMs() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }
}
