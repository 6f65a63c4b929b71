import Synchronization

/// A level-triggered wake-up: `signal()` from anywhere, `wait(timeoutMs:)` in one consumer loop.
///
/// Signals coalesce; a signal before the wait makes the next wait return at once, so a commit
/// never waits out the poll interval.
public final class WakeupSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    public init() {}

    public func signal() {
        let waiter: CheckedContinuation<Void, Never>? = state.withLock { state in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns after a signal or after `timeoutMs`, whichever comes first (or on cancellation).
    public func wait(timeoutMs: Int64) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    await withCheckedContinuation { continuation in
                        let resumeNow = self.state.withLock { state in
                            if state.pending || Task.isCancelled {
                                state.pending = false
                                return true
                            }
                            if let previous = state.waiter {
                                // Only one waiter at a time: release the previous one.
                                previous.resume()
                            }
                            state.waiter = continuation
                            return false
                        }
                        if resumeNow { continuation.resume() }
                    }
                } onCancel: {
                    self.signal()
                }
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(timeoutMs))
            }
            await group.next()
            group.cancelAll()
        }
    }
}
