import Synchronization

/// What `/readyz` reports about this worker: whether its consumer runs, whether it is shutting down,
/// and whether consumption makes progress while records wait.
public final class WorkerStatus: Sendable {
    private struct State {
        var consuming = false
        var shuttingDown = false
        /// Batches submitted and not yet committed.
        var batchesInFlight = 0
        /// Records waiting behind the last consumed batch (the consumer's lag).
        var lag: Int64 = 0
        /// Since when work has been waiting without a break (nil: nothing waits).
        var waitingSinceMs: Int64?
        var lastProgressMs: Int64?
    }

    private let state = Mutex(State())

    public init() {}

    public func setConsuming(_ value: Bool) { state.withLock { $0.consuming = value } }
    public func setShuttingDown() { state.withLock { $0.shuttingDown = true } }
    public var isConsuming: Bool { state.withLock { $0.consuming } }
    public var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }

    /// A batch was handed to processing.
    public func batchStarted(nowMs: Int64) {
        state.withLock { s in
            s.batchesInFlight += 1
            if s.waitingSinceMs == nil { s.waitingSinceMs = nowMs }
        }
    }

    /// A batch was committed: progress.
    public func batchCommitted(nowMs: Int64) {
        state.withLock { s in
            s.batchesInFlight = max(0, s.batchesInFlight - 1)
            s.lastProgressMs = nowMs
            if s.batchesInFlight == 0 && s.lag == 0 { s.waitingSinceMs = nil }
        }
    }

    /// The consumer's total lag after its latest batch.
    public func lag(_ records: Int64, nowMs: Int64) {
        state.withLock { s in
            s.lag = max(0, records)
            if s.lag > 0, s.waitingSinceMs == nil { s.waitingSinceMs = nowMs }
            if s.lag == 0, s.batchesInFlight == 0 { s.waitingSinceMs = nil }
        }
    }

    /// Partitions were revoked or the consumer stopped: what waited is no longer this worker's.
    public func resetProgress() {
        state.withLock { s in
            s.batchesInFlight = 0
            s.lag = 0
            s.waitingSinceMs = nil
        }
    }

    /// How long records have waited without any batch committing, in ms (0 when nothing waits).
    public func stalledMs(nowMs: Int64) -> Int64 {
        state.withLock { s in
            guard let since = s.waitingSinceMs else { return 0 }
            return max(0, nowMs - max(since, s.lastProgressMs ?? since))
        }
    }

    /// Records waiting behind the last consumed batch.
    public var waitingRecords: Int64 { state.withLock { $0.lag } }
}
