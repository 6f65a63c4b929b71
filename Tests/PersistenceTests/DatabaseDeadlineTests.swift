import Persistence
import Synchronization
import Testing

/// `DatabaseDeadline` gives up on work that never answers, even work that ignores cancellation
/// (the way a PostgresNIO call can hang after an immediate server restart).
@Suite struct DatabaseDeadlineTests {
    @Test func answersWithTheWorksResult() async throws {
        let value = try await DatabaseDeadline(.seconds(30)).run("a quick query") { 42 }
        #expect(value == 42)
    }

    @Test func passesTheWorksErrorOn() async throws {
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await DatabaseDeadline(.seconds(30)).run("a refused query") { () async throws -> Int in throw Refused() }
        }
    }

    @Test func abandonsWorkThatNeverAnswersAsTransient() async throws {
        let hung = HungWork()
        defer { hung.release() }
        do {
            _ = try await DatabaseDeadline(.milliseconds(200)).run("a hung query") { await hung.wait() }
            Issue.record("the deadline did not fire")
        } catch let error as DatabaseError {
            #expect(error.code == .unreachable)
            #expect(error.reason.contains("a hung query"))
            #expect(DatabaseError.isTransient(error))
        }
    }

    @Test func cancellingTheCallerAnswersAtOnce() async throws {
        let hung = HungWork()
        defer { hung.release() }
        let caller = Task {
            try await DatabaseDeadline(.seconds(3600)).run("a hung query") { await hung.wait() }
        }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
    }
}

/// Work that waits, ignoring cancellation, until released.
private final class HungWork: Sendable {
    private let waiter = Mutex<(released: Bool, continuations: [CheckedContinuation<Int, Never>])>((false, []))

    func wait() async -> Int {
        await withCheckedContinuation { continuation in
            let released = waiter.withLock { state -> Bool in
                if !state.released { state.continuations.append(continuation) }
                return state.released
            }
            if released { continuation.resume(returning: 0) }
        }
    }

    func release() {
        let waiting = waiter.withLock { state in
            state.released = true
            defer { state.continuations = [] }
            return state.continuations
        }
        for continuation in waiting { continuation.resume(returning: 0) }
    }
}
