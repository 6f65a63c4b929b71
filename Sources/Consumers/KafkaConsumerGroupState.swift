import Foundation
import Shared

/// The hand-over between a consumer group's dedicated thread and Swift tasks: the event buffer,
/// the rebalance answers, jobs for the thread (commit), and the close/cancel requests.
///
/// `@unchecked Sendable` because every field is guarded by `condition`.
/// - Important: never drop the last reference to an event while holding `condition`: a dropped
///   rebalance event answers itself in `deinit`, which takes the lock again.
final class KafkaConsumerGroupState: @unchecked Sendable {
    typealias Job = @Sendable (RDKafkaClient) -> Void

    /// What the thread should do next.
    enum Action {
        case runJobs([Job])
        case poll
        case close
    }

    private let condition = NSCondition()
    private var buffer: [KafkaConsumerEvent] = []
    private var waiter: CheckedContinuation<KafkaConsumerEvent?, Never>?
    /// The thread ended: no events after the buffer.
    private var finished = false
    /// The caller stopped iterating: rebalances take their default answer.
    private var consumerGone = false
    private var jobs: [Job] = []
    private var closeRequested = false
    /// Cancelled: close without waiting for the caller.
    private var abandoned = false
    private var nextRebalanceID: UInt64 = 1
    /// Rebalances waiting for an answer; a value once answered.
    private var rebalanceAnswers: [UInt64: [TopicPartition: Int64]?] = [:]
    /// The batch being gathered on the thread; the caller takes it as it is when it asks for an event
    /// and the buffer is empty (see ``nextEvent()``).
    private var pending: [InboundRecord] = []
    /// Key and value bytes of `pending`.
    private var pendingBytes = 0
    private var threadDone = false
    /// The client jobs run with while the thread waits in a rebalance; set only while the thread
    /// runs (the client's callbacks refer to this state, so it is cleared to break the cycle).
    private var threadClient: RDKafkaClient?
    private var doneWaiters: [CheckedContinuation<Void, Never>] = []
    private(set) var failure: KafkaError? {
        get { condition.lock(); defer { condition.unlock() }; return _failure }
        set { condition.lock(); _failure = newValue; condition.unlock() }
    }
    private var _failure: KafkaError?

    // MARK: Swift side

    /// The next event, waiting for one; `nil` once the group is closed and drained.
    func nextEvent() async -> KafkaConsumerEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<KafkaConsumerEvent?, Never>) in
                condition.lock()
                if !buffer.isEmpty {
                    let event = buffer.removeFirst()
                    condition.broadcast()
                    condition.unlock()
                    continuation.resume(returning: event)
                } else if !pending.isEmpty {
                    // The caller is ready for more: it takes what has been gathered so far rather than
                    // waiting for the batch to fill, so a batch holds what arrived while the one before
                    // was processed (small when the stream is quiet, large under a backlog). Pending
                    // records are newer than every buffered event, so the order stays.
                    let batch = KafkaRecordBatch(records: pending)
                    pending = []
                    pendingBytes = 0
                    condition.broadcast()
                    condition.unlock()
                    continuation.resume(returning: .records(batch))
                } else if finished || consumerGone {
                    condition.unlock()
                    continuation.resume(returning: nil)
                } else {
                    waiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            stopConsuming()
        }
    }

    /// The caller stopped iterating: drop buffered events and answer rebalances by default.
    func stopConsuming() {
        condition.lock()
        consumerGone = true
        let dropped = buffer
        buffer = []
        let waiting = waiter
        waiter = nil
        condition.broadcast()
        condition.unlock()
        waiting?.resume(returning: nil)
        withExtendedLifetime(dropped) {}
    }

    func answerRebalance(id: UInt64, offsets: [TopicPartition: Int64]) {
        condition.lock()
        if let slot = rebalanceAnswers[id], slot == nil {
            rebalanceAnswers[id] = .some(offsets)
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Queues `job` for the thread; `false` if the thread has ended.
    func submit(_ job: @escaping Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard !threadDone else { return false }
        jobs.append(job)
        condition.broadcast()
        return true
    }

    func requestClose() {
        condition.lock()
        closeRequested = true
        condition.broadcast()
        condition.unlock()
    }

    func abandon() {
        condition.lock()
        abandoned = true
        closeRequested = true
        condition.broadcast()
        condition.unlock()
    }

    func waitUntilThreadDone() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            condition.lock()
            if threadDone {
                condition.unlock()
                continuation.resume()
            } else {
                doneWaiters.append(continuation)
                condition.unlock()
            }
        }
    }

    // MARK: Thread side

    /// The thread starts: jobs run with `client`.
    func threadStarted(client: RDKafkaClient) {
        condition.lock()
        threadClient = client
        condition.unlock()
    }

    /// Waits (bounded) until there is something to do: jobs first, then close, then poll when the
    /// caller has room for another batch.
    func nextAction(maxBufferedEvents: Int) -> Action {
        condition.lock()
        defer { condition.unlock() }
        while true {
            if !jobs.isEmpty {
                defer { jobs = [] }
                return .runJobs(jobs)
            }
            if closeRequested { return .close }
            if buffer.count < maxBufferedEvents || consumerGone { return .poll }
            _ = condition.wait(until: Date(timeIntervalSinceNow: 0.1))
        }
    }

    /// Whether the thread should stop gathering the current batch.
    var shouldInterruptPolling: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !jobs.isEmpty || closeRequested
    }

    /// Adds a record to the batch being gathered; returns the batch's size in records and bytes, and
    /// whether the caller is waiting for an event.
    func appendPending(_ record: InboundRecord) -> (count: Int, bytes: Int, callerWaiting: Bool) {
        condition.lock()
        defer { condition.unlock() }
        pending.append(record)
        pendingBytes += (record.key?.count ?? 0) + (record.value?.count ?? 0)
        return (pending.count, pendingBytes, waiter != nil)
    }

    /// The size of the batch being gathered and whether the caller is waiting for an event.
    var pendingStatus: (count: Int, callerWaiting: Bool) {
        condition.lock()
        defer { condition.unlock() }
        return (pending.count, waiter != nil)
    }

    /// Hands the gathered batch (if any) to the caller.
    func flushPending() {
        condition.lock()
        guard !pending.isEmpty else {
            condition.unlock()
            return
        }
        let batch = KafkaRecordBatch(records: pending)
        pending = []
        pendingBytes = 0
        let waiting = deliverLocked(.records(batch))
        condition.unlock()
        waiting?()
    }

    /// Puts `event` in the buffer or hands it to the waiting caller; returns the resumption to
    /// run after unlocking.
    private func deliverLocked(_ event: KafkaConsumerEvent) -> (() -> Void)? {
        if consumerGone { return nil }
        if let waiting = waiter {
            waiter = nil
            return { waiting.resume(returning: event) }
        }
        buffer.append(event)
        return nil
    }

    /// Reports a rebalance to the caller and waits for the answer, running jobs meanwhile.
    /// Returns the start offsets (empty: defaults), or `nil` when the caller did not answer in time.
    func rebalance(
        _ makeEvent: (KafkaRebalanceAnswerSlot) -> KafkaConsumerEvent, timeoutMs: Int
    ) -> [TopicPartition: Int64]? {
        flushPending()
        condition.lock()
        if consumerGone || abandoned {
            condition.unlock()
            return [:]
        }
        let id = nextRebalanceID
        nextRebalanceID += 1
        rebalanceAnswers[id] = .some(nil)
        condition.unlock()

        // Built and released outside the lock (see the type's note).
        do {
            let event = makeEvent(KafkaRebalanceAnswerSlot(id: id, state: self))
            condition.lock()
            let waiting = deliverLocked(event)
            condition.unlock()
            waiting?()
        }

        let deadline = Date(timeIntervalSinceNow: Double(timeoutMs) / 1000)
        condition.lock()
        defer { condition.unlock() }
        while true {
            if let slot = rebalanceAnswers[id], let offsets = slot {
                rebalanceAnswers[id] = nil
                return offsets
            }
            if consumerGone || abandoned {
                rebalanceAnswers[id] = nil
                return [:]
            }
            if !jobs.isEmpty, let client = threadClient {
                let current = jobs
                jobs = []
                condition.unlock()
                current.forEach { $0(client) }
                condition.lock()
                continue
            }
            if Date() >= deadline {
                rebalanceAnswers[id] = nil
                _failure = KafkaError.local(
                    .timedOut, "the consumer did not answer a rebalance within \(timeoutMs) ms; it leaves the group")
                closeRequested = true
                abandoned = true  // leave without waiting for the caller again
                return nil
            }
            _ = condition.wait(until: min(deadline, Date(timeIntervalSinceNow: 0.1)))
        }
    }

    /// The thread ended: no more events after the buffer; waiting jobs fail.
    func finish(failure: KafkaError?) -> [Job] {
        condition.lock()
        if let failure, _failure == nil { _failure = failure }
        finished = true
        threadDone = true
        threadClient = nil
        let leftJobs = jobs
        jobs = []
        let waiting = buffer.isEmpty ? waiter : nil
        if waiting != nil { waiter = nil }
        let doneWaiting = doneWaiters
        doneWaiters = []
        condition.broadcast()
        condition.unlock()
        waiting?.resume(returning: nil)
        doneWaiting.forEach { $0.resume() }
        return leftJobs
    }
}
