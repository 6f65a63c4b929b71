import Dispatch
import Shared
import Synchronization

/// A consumer group's ``KafkaConsumerGroupStateMachine`` inside one `Mutex`, and the actions it
/// returns performed outside the lock: resuming the caller's continuation, waking the thread.
///
/// The dedicated thread is a real thread (it blocks in librdkafka, also inside the rebalance
/// callback), so when the machine parks it, it sleeps on a semaphore that only a transition
/// signals: a wake-up given before it sleeps is kept, and it never wakes on a timer except the
/// rebalance answer's own deadline. Swift tasks never block here.
final class KafkaConsumerGroupState: Sendable {
    typealias Waiter = CheckedContinuation<KafkaGroupHandout?, Never>
    typealias Machine = KafkaConsumerGroupStateMachine<Waiter>

    private let machine: Mutex<Machine>
    private let wakeup = DispatchSemaphore(value: 0)

    init(maxBufferedEvents: Int, rebalanceAnswerTimeoutMs: Int) {
        machine = Mutex(Machine(maxBufferedEvents: maxBufferedEvents, rebalanceAnswerTimeoutMs: rebalanceAnswerTimeoutMs))
    }

    var failure: KafkaError? { machine.withLock { $0.failure } }

    // MARK: Swift side

    /// `false` when the group was started before.
    func start() -> Bool { machine.withLock { $0.start() } }

    /// The next event, waiting for one; `nil` once the group is closed and drained.
    func nextEvent() async -> KafkaConsumerEvent? {
        let handout = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                switch machine.withLock({ $0.next(continuation) }) {
                case .deliver(let handout, let wakeThread):
                    if wakeThread { wakeup.signal() }
                    continuation.resume(returning: handout)
                case .end:
                    continuation.resume(returning: nil)
                case .suspended:
                    break
                }
            }
        } onCancel: {
            stopConsuming()
        }
        return handout.map(event(for:))
    }

    /// The caller stopped iterating: buffered events are dropped and rebalances take their default.
    func stopConsuming() {
        let (waiter, wakeThread) = machine.withLock { $0.stopConsuming() }
        if wakeThread { wakeup.signal() }
        waiter?.resume(returning: nil)
    }

    func answerRebalance(id: UInt64, offsets: [TopicPartition: Int64]) {
        if machine.withLock({ $0.answer(id: id, offsets: offsets) }) { wakeup.signal() }
    }

    func requestClose() {
        if machine.withLock({ $0.requestClose() }) { wakeup.signal() }
    }

    func abandon() {
        if machine.withLock({ $0.abandon() }) { wakeup.signal() }
    }

    /// The caller's view of a handout: a rebalance gets its answer slot.
    private func event(for handout: KafkaGroupHandout) -> KafkaConsumerEvent {
        switch handout {
        case .records(let records):
            .records(KafkaRecordBatch(records: records))
        case .rebalance(let id, .assign(let partitions)):
            .partitionsAssigned(
                KafkaPartitionAssignment(partitions: partitions, answer: KafkaRebalanceAnswerSlot(id: id, state: self)))
        case .rebalance(let id, .revoke(let partitions)):
            .partitionsRevoked(
                KafkaPartitionRevocation(partitions: partitions, answer: KafkaRebalanceAnswerSlot(id: id, state: self)))
        }
    }

    // MARK: Thread side

    /// Polls while the caller has room; sleeps while it has not; `false` once asked to close.
    func shouldPoll() -> Bool {
        while true {
            switch machine.withLock({ $0.nextThreadAction() }) {
            case .poll: return true
            case .close: return false
            case .park: wakeup.wait()
            }
        }
    }

    /// Whether the thread should stop gathering the current batch.
    var interruptsPolling: Bool { machine.withLock { $0.interruptsPolling } }

    /// The size of the batch being gathered and whether the caller waits for it.
    var pendingStatus: (count: Int, callerWaiting: Bool) { machine.withLock { $0.pendingStatus } }

    /// Adds a record to the batch being gathered; returns the batch's size in records and bytes.
    func append(_ record: InboundRecord) -> (count: Int, bytes: Int) { machine.withLock { $0.append(record) } }

    /// Hands the gathered batch (if any) to the caller.
    func flushPending() { perform(machine.withLock { $0.flushPending() }) }

    /// Reports a rebalance to the caller and sleeps until its answer, a close that will not wait, or
    /// the deadline. Returns the start offsets (empty: defaults), or `nil` when the caller did not
    /// answer in time (the group then leaves and ``failure`` says why).
    func rebalance(_ kind: RDKafkaCallbacks.Rebalance) -> [TopicPartition: Int64]? {
        let (id, resume) = machine.withLock { $0.beginRebalance(kind) }
        perform(resume)
        guard let id else { return [:] }
        let timeoutMs = machine.withLock { $0.rebalanceAnswerTimeoutMs }
        let deadline = DispatchTime.now() + .milliseconds(timeoutMs)
        var deadlinePassed = false
        while true {
            switch machine.withLock({ $0.rebalanceStatus(id: id, deadlinePassed: deadlinePassed) }) {
            case .answered(let offsets): return offsets
            case .answerDefault: return [:]
            case .timedOut: return nil
            case .park: deadlinePassed = wakeup.wait(timeout: deadline) == .timedOut
            }
        }
    }

    /// The thread ended: no more events after the buffer.
    func finish(failure: KafkaError?) { perform(machine.withLock { $0.finish(failure: failure) }) }

    private func perform(_ resume: Machine.Resume?) {
        guard let resume else { return }
        resume.waiter.resume(returning: resume.handout)
    }
}
