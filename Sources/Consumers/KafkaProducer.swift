import Foundation
import Logging
import ServiceLifecycle
import Shared
import Synchronization

/// An idempotent Kafka producer whose `send` completes when the broker acknowledged the message.
///
/// Delivery reports are served by a dedicated polling thread that resumes the waiting tasks, so
/// no blocking librdkafka call ever runs on Swift's cooperative pool. Per-key order holds
/// (`enable.idempotence=true`), and a message the cluster could not take within
/// ``KafkaConfiguration/messageTimeoutMs`` fails with ``KafkaError/Code/messageTimedOut``.
///
/// - Important: run it as a `Service` (its `run()` flushes on graceful shutdown) or call
///   ``shutdown(timeoutMs:)`` before dropping it.
public final class KafkaProducer: Service, Sendable {
    private let client: RDKafkaClient
    private let deliveries: KafkaDeliveryTable
    private let thread: KafkaProducerThread
    private let logger: Logger

    public init(configuration: KafkaConfiguration, logger: Logger) throws {
        let deliveries = KafkaDeliveryTable()
        let callbacks = RDKafkaCallbacks(
            logger: logger,
            onDelivery: { id, result in deliveries.complete(id: id, result) })
        let client = try RDKafkaClient.make(
            kind: .producer, properties: configuration.producerProperties, callbacks: callbacks)
        self.client = client
        self.deliveries = deliveries
        self.logger = logger
        self.thread = KafkaProducerThread(client: client, deliveries: deliveries)
    }

    deinit { thread.requestStop() }

    /// Sends one message and waits for its delivery report.
    /// - Throws: ``KafkaError`` when the message could not be delivered (for example
    ///   ``KafkaError/Code/messageTimedOut`` after `message.timeout.ms`).
    @discardableResult
    public func send(_ message: OutboundMessage) async throws -> KafkaDeliveryReport {
        try await send([message])[0].get()
    }

    /// Sends many messages at once (all in flight together) and waits until every one has its
    /// delivery report. The results are in the order of `messages`.
    public func send(_ messages: [OutboundMessage]) async -> [Result<KafkaDeliveryReport, KafkaError>] {
        guard !messages.isEmpty else { return [] }
        let batch = KafkaDeliveryBatch(count: messages.count)
        for (index, message) in messages.enumerated() {
            guard let id = deliveries.register({ result in batch.complete(index: index, result) }) else {
                batch.complete(index: index, .failure(.closed))
                continue
            }
            while true {
                let generation = deliveries.generation
                guard let error = client.produce(message, id: id) else { break }
                guard error.code == .queueFull else {
                    deliveries.cancel(id: id)
                    batch.complete(index: index, .failure(error))
                    break
                }
                // The local queue is full: wait until some delivery reports freed space.
                await deliveries.waitForSpace(after: generation)
            }
        }
        return await batch.results()
    }

    /// Waits until every message sent so far has its delivery report.
    /// - Throws: ``KafkaError/Code/timedOut`` when messages are still outstanding after `timeoutMs`.
    public func flush(timeoutMs: Int = 30_000) async throws {
        try await thread.run { client in try client.flush(timeoutMs: Int32(clamping: timeoutMs)) }
    }

    /// Flushes and stops the polling thread; later sends fail.
    public func shutdown(timeoutMs: Int = 30_000) async {
        do {
            try await flush(timeoutMs: timeoutMs)
        } catch {
            logger.error(
                "Kafka producer flush on shutdown failed",
                metadata: ["assure.kafka.error": "\(error)", "assure.kafka.outstanding": "\(client.outstandingMessages)"])
        }
        thread.requestStop()
        await thread.waitUntilStopped()
    }

    /// Runs until graceful shutdown (or cancellation), then flushes outstanding messages.
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }
}

/// Completions of in-flight messages, keyed by the opaque id librdkafka hands back.
final class KafkaDeliveryTable: Sendable {
    typealias Completion = @Sendable (Result<KafkaDeliveryReport, KafkaError>) -> Void

    private struct State {
        var nextID: UInt64 = 1
        var pending: [UInt64: Completion] = [:]
        /// Bumped whenever delivery reports were served, i.e. queue space may have been freed.
        var generation: UInt64 = 0
        var spaceWaiters: [CheckedContinuation<Void, Never>] = []
        var closed = false
    }

    private let state = Mutex(State())

    /// Registers a message's completion; `nil` once the producer is closed.
    func register(_ completion: @escaping Completion) -> UInt64? {
        state.withLock { state in
            guard !state.closed else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.pending[id] = completion
            return id
        }
    }

    func cancel(id: UInt64) { _ = state.withLock { $0.pending.removeValue(forKey: id) } }

    /// Called on the polling thread for each delivery report.
    func complete(id: UInt64, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        let completion = state.withLock { $0.pending.removeValue(forKey: id) }
        completion?(result)
    }

    var generation: UInt64 { state.withLock { $0.generation } }

    /// Called on the polling thread after serving delivery reports.
    func servedReports() {
        let waiters = state.withLock { state in
            state.generation += 1
            defer { state.spaceWaiters = [] }
            return state.spaceWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Fails every pending message and refuses new ones (the client is gone).
    func failAll(_ error: KafkaError) {
        let completions = state.withLock { state in
            state.closed = true
            defer { state.pending = [:] }
            return Array(state.pending.values)
        }
        completions.forEach { $0(.failure(error)) }
        servedReports()
    }

    /// Returns once delivery reports were served after `generation` was read.
    func waitForSpace(after generation: UInt64) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.generation != generation { return true }
                state.spaceWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}

/// Collects the results of one `send` call and resumes it when all have arrived.
final class KafkaDeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReport, KafkaError>?]
        var remaining: Int
        var waiter: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func complete(index: Int, _ result: Result<KafkaDeliveryReport, KafkaError>) {
        let finished: (CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], Never>, [Result<KafkaDeliveryReport, KafkaError>])? =
            state.withLock { state in
                guard state.results[index] == nil else { return nil }
                state.results[index] = result
                state.remaining -= 1
                guard state.remaining == 0, let waiter = state.waiter else { return nil }
                state.waiter = nil
                return (waiter, state.results.map { $0! })
            }
        if let (waiter, results) = finished { waiter.resume(returning: results) }
    }

    func results() async -> [Result<KafkaDeliveryReport, KafkaError>] {
        await withCheckedContinuation { continuation in
            let done: [Result<KafkaDeliveryReport, KafkaError>]? = state.withLock { state in
                if state.remaining == 0 { return state.results.map { $0! } }
                state.waiter = continuation
                return nil
            }
            if let done { continuation.resume(returning: done) }
        }
    }
}

/// The producer's dedicated thread: serves delivery reports with a blocking poll and runs
/// blocking jobs (flush) handed over from Swift tasks.
final class KafkaProducerThread: Sendable {
    private struct State {
        var jobs: [@Sendable (RDKafkaClient) -> Void] = []
        var stopRequested = false
        var stopped = false
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let client: RDKafkaClient

    init(client: RDKafkaClient, deliveries: KafkaDeliveryTable) {
        self.client = client
        // The thread holds this object until it stops.
        let thread = Thread { [self] in serve(deliveries) }
        thread.name = "assure.kafka.producer"
        thread.start()
    }

    private func serve(_ deliveries: KafkaDeliveryTable) {
        while true {
            let (jobs, stop) = state.withLock { state in
                defer { state.jobs = [] }
                return (state.jobs, state.stopRequested)
            }
            for job in jobs { job(client) }
            if stop { break }
            if client.poll(timeoutMs: 100) > 0 { deliveries.servedReports() }
        }
        client.poll(timeoutMs: 0)
        deliveries.failAll(.closed)
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.stopWaiters = [] }
            return state.stopWaiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Runs `job` on the thread and returns its result.
    func run<Result: Sendable>(_ job: @escaping @Sendable (RDKafkaClient) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state in
                guard !state.stopRequested else { return false }
                state.jobs.append { client in continuation.resume(with: Swift.Result { try job(client) }) }
                return true
            }
            if accepted { client.wakeUp() } else { continuation.resume(throwing: KafkaError.closed) }
        }
    }

    func requestStop() {
        state.withLock { $0.stopRequested = true }
        client.wakeUp()
    }

    func waitUntilStopped() async {
        await withCheckedContinuation { continuation in
            let done = state.withLock { state in
                if state.stopped { return true }
                state.stopWaiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
    }
}
