import Synchronization

/// What `/readyz` reports about this worker: whether its consumer runs and whether it is shutting down.
public final class WorkerStatus: Sendable {
    private struct State {
        var consuming = false
        var shuttingDown = false
    }

    private let state = Mutex(State())

    public init() {}

    public func setConsuming(_ value: Bool) { state.withLock { $0.consuming = value } }
    public func setShuttingDown() { state.withLock { $0.shuttingDown = true } }
    public var isConsuming: Bool { state.withLock { $0.consuming } }
    public var isShuttingDown: Bool { state.withLock { $0.shuttingDown } }
}
