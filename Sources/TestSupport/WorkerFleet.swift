import Consumers
import Foundation
import Logging
import Persistence
import ServiceLifecycle
import Shared
import Synchronization
import WorkerRuntime

/// In-process workers for end-to-end tests: a fixed number of slots, each started and stopped at will,
/// all running as child tasks of `withWorkerFleet`, so nothing outlives the test.
public final class WorkerFleet: Sendable {
    /// What each worker is built from.
    public let configuration: WorkerNode.Configuration
    let logger: Logger
    let slots: [Slot]

    final class Slot: Sendable {
        private struct State {
            var startWaiter: CheckedContinuation<Bool, Never>?
            var startRequested: Bool?
            var group: ServiceGroup?
            var node: WorkerNode?
            var stoppedWaiters: [CheckedContinuation<Void, Never>] = []
            var running = false
        }

        private let state = Mutex(State())

        /// Waits for `start` (`true`) or the end of the fleet (`false`).
        func waitForStart() async -> Bool {
            await withCheckedContinuation { continuation in
                let immediate = state.withLock { state -> Bool? in
                    if let requested = state.startRequested {
                        state.startRequested = nil
                        return requested
                    }
                    state.startWaiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        }

        func request(start: Bool) {
            let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
                if let waiter = state.startWaiter {
                    state.startWaiter = nil
                    return waiter
                }
                state.startRequested = start
                return nil
            }
            waiter?.resume(returning: start)
        }

        func running(_ group: ServiceGroup?, node: WorkerNode?) {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.group = group
                state.node = node
                state.running = group != nil
                if group == nil {
                    defer { state.stoppedWaiters = [] }
                    return state.stoppedWaiters
                }
                return []
            }
            for waiter in waiters { waiter.resume() }
        }

        var node: WorkerNode? { state.withLock { $0.node } }
        var isRunning: Bool { state.withLock { $0.running } }

        /// Triggers graceful shutdown and waits until the worker's group has ended.
        func stop() async {
            guard let group = state.withLock({ $0.running ? $0.group : nil }) else { return }
            await group.triggerGracefulShutdown()
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let stillRunning = state.withLock { state -> Bool in
                    guard state.running else { return false }
                    state.stoppedWaiters.append(continuation)
                    return true
                }
                if !stillRunning { continuation.resume() }
            }
        }
    }

    init(configuration: WorkerNode.Configuration, count: Int, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.slots = (0..<count).map { _ in Slot() }
    }

    /// Runs `body` with a fleet of `count` worker slots (none started yet).
    public static func with<Result: Sendable>(
        configuration: WorkerNode.Configuration, count: Int, logger: Logger = Logger(label: "assure.test.worker"),
        _ body: @Sendable (WorkerFleet) async throws -> Result
    ) async throws -> Result {
        let fleet = WorkerFleet(configuration: configuration, count: count, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            for (index, slot) in fleet.slots.enumerated() {
                tasks.addTask {
                    while await slot.waitForStart() {
                        var workerLogger = logger
                        workerLogger[metadataKey: "assure.worker"] = "\(index)"
                        let node = try WorkerNode(configuration: configuration, logger: workerLogger)
                        let group = ServiceGroup(
                            configuration: .init(
                                services: node.services().map {
                                    .init(
                                        service: $0, successTerminationBehavior: .gracefullyShutdownGroup,
                                        failureTerminationBehavior: .gracefullyShutdownGroup)
                                }, gracefulShutdownSignals: [], logger: workerLogger))
                        slot.running(group, node: node)
                        do {
                            try await group.run()
                        } catch {
                            workerLogger.error("Worker ended with an error", metadata: ["assure.error": "\(error)"])
                        }
                        slot.running(nil, node: nil)
                    }
                }
            }
            do {
                let result = try await body(fleet)
                await fleet.shutdown()
                try await tasks.waitForAll()
                return result
            } catch {
                await fleet.shutdown()
                tasks.cancelAll()
                throw error
            }
        }
    }

    /// Starts worker `index`; returns once its database is ready.
    public func start(_ index: Int) async {
        slots[index].request(start: true)
        while true {
            if let node = slots[index].node {
                await node.ready.wait()
                return
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Gracefully stops worker `index` (it finishes its batch and leaves the group).
    public func stop(_ index: Int) async { await slots[index].stop() }

    /// Whether worker `index` runs (it was started and has not ended, by a stop or by an error).
    public func isRunning(_ index: Int) -> Bool { slots[index].isRunning }

    func shutdown() async {
        for slot in slots {
            await slot.stop()
            slot.request(start: false)
        }
    }
}
