import Foundation
import Logging
import Prometheus
import Shared
import WorkerRuntime

/// What the admin API needs from the worker, injected so tests drive the same router.
public struct AdminAPIDependencies: Sendable {
    public var tokens: AdminTokens
    public var reports: ReportQuery
    public var settings: WorkerSettings
    /// Publishes a signed command on the commands topic (the worker's idempotent producer).
    public var publishCommand: @Sendable (OutboundMessage) async throws -> Void
    /// Whether the database answers, for `/readyz`.
    public var databaseReachable: @Sendable () async -> Bool
    /// How long the outbox's oldest row refused by the broker has waited, in seconds (nil: none), for `/readyz`.
    public var outboxRefusalSeconds: @Sendable () async -> Double?
    public var status: WorkerStatus
    public var registry: PrometheusCollectorRegistry
    /// How long `POST` waits for the command's result before answering 202.
    public var resultWaitMs: Int64
    public var clock: @Sendable () -> Int64
    public var logger: Logger

    public init(
        tokens: AdminTokens, reports: ReportQuery, settings: WorkerSettings,
        publishCommand: @escaping @Sendable (OutboundMessage) async throws -> Void,
        databaseReachable: @escaping @Sendable () async -> Bool, status: WorkerStatus,
        registry: PrometheusCollectorRegistry, resultWaitMs: Int64 = 10_000,
        clock: @escaping @Sendable () -> Int64 = WallClock.nowMs,
        outboxRefusalSeconds: @escaping @Sendable () async -> Double? = { nil }, logger: Logger
    ) {
        self.outboxRefusalSeconds = outboxRefusalSeconds
        self.tokens = tokens
        self.reports = reports
        self.settings = settings
        self.publishCommand = publishCommand
        self.databaseReachable = databaseReachable
        self.status = status
        self.registry = registry
        self.resultWaitMs = resultWaitMs
        self.clock = clock
        self.logger = logger
    }
}
