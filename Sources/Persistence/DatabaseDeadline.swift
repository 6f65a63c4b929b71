import Synchronization

/// The longest a worker waits on one unit of database work (a batch transaction, a read of states,
/// a sweep) before it gives up on it and treats the database as unreachable.
///
/// Why this exists: after an immediate PostgreSQL restart, PostgresNIO (1.33) can leave a caller of
/// `withConnection`/`withTransaction` waiting forever, with no query on the server and the pool
/// serving everyone else; a worker waiting there never consumes again. Cancellation does not reach
/// that wait, so a task-group timeout would hang in the group's own wait for the child. Instead the
/// work runs in a task of its own, raced against a timer; at the deadline the caller gets a
/// transient `DatabaseError(.unreachable)` and retries, and the abandoned task is cancelled and left
/// to end (or not) on its own. Retrying is safe because every batch is fenced by its stored offsets:
/// if the abandoned transaction does commit later, the retry finds its records processed.
public struct DatabaseDeadline: Sendable {
    public let limit: Duration

    public init(seconds: Int64) {
        limit = .seconds(max(1, seconds))
    }

    public init(_ limit: Duration) {
        self.limit = limit
    }

    /// Runs `work`, answering with its result, or with `DatabaseError(.unreachable)` once `limit`
    /// passes without one. Cancelling the caller cancels the work and answers `CancellationError`.
    @discardableResult
    public func run<T: Sendable>(
        _ what: @autoclosure () -> String, _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let limit = self.limit
        let expired = DatabaseError(
            .unreachable, "no answer from the database within \(limit) (\(what())); the work is abandoned and retried")
        let answer = Answer<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                answer.wait(with: continuation)
                // Unstructured on purpose: the point is to stop waiting for work that ignores
                // cancellation, which a structured parent would have to wait for.
                let worker = Task {
                    do { answer.give(.success(try await work())) } catch { answer.give(.failure(error)) }
                }
                let timer = Task {
                    try? await Task.sleep(for: limit)
                    if answer.give(.failure(expired)) { worker.cancel() }
                }
                answer.onAnswer { worker.cancel(); timer.cancel() }
            }
        } onCancel: {
            answer.give(.failure(CancellationError()))
        }
    }

    /// One answer for one waiting continuation, whichever side gives it first.
    private final class Answer<T: Sendable>: Sendable {
        private struct State {
            var continuation: CheckedContinuation<T, any Error>?
            var result: Result<T, any Error>?
            var cleanup: (@Sendable () -> Void)?
            var answered = false
        }
        private let state = Mutex(State())

        func wait(with continuation: CheckedContinuation<T, any Error>) {
            let early = state.withLock { state -> Result<T, any Error>? in
                if let result = state.result { return result }
                state.continuation = continuation
                return nil
            }
            if let early { continuation.resume(with: early) }
        }

        /// Runs `cleanup` once the answer is given (at once if it was).
        func onAnswer(_ cleanup: @escaping @Sendable () -> Void) {
            let now = state.withLock { state -> Bool in
                if state.answered { return true }
                state.cleanup = cleanup
                return false
            }
            if now { cleanup() }
        }

        /// `true` when this was the answer; later ones are dropped.
        @discardableResult
        func give(_ result: Result<T, any Error>) -> Bool {
            typealias Taken = (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?, Bool)
            let (continuation, cleanup, first) = state.withLock { state -> Taken in
                guard !state.answered else { return (nil, nil, false) }
                state.answered = true
                let continuation = state.continuation
                state.continuation = nil
                if continuation == nil { state.result = result }
                let cleanup = state.cleanup
                state.cleanup = nil
                return (continuation, cleanup, true)
            }
            continuation?.resume(with: result)
            cleanup?()
            return first
        }
    }
}
