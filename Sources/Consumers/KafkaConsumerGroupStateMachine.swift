import Shared

/// What a consumer group hands its caller, as plain values. A rebalance becomes a
/// ``KafkaConsumerEvent`` with its answer slot only once the caller has taken it, so the machine
/// never holds an object whose `deinit` answers (and would take the lock again).
enum KafkaGroupHandout: Sendable, Hashable {
    case records([InboundRecord])
    case rebalance(id: UInt64, RDKafkaCallbacks.Rebalance)
}

/// The hand-over between a consumer group's dedicated thread and the task iterating its events,
/// as a value. It lives inside the group's one `Mutex`; every mutating method decides under the
/// lock and returns what to do outside it (resume the caller, wake the parked thread), so no
/// continuation runs and no thread sleeps while the lock is held.
///
/// Generic over the caller's continuation so tests drive every transition with plain values.
struct KafkaConsumerGroupStateMachine<Waiter: Sendable>: Sendable {
    /// What the group's owner asked of the thread.
    enum Lifecycle: Equatable, Sendable {
        case consuming
        /// Leave gracefully: the caller still sees the final revocation and answers it.
        case closing
        /// Leave without waiting for the caller (cancelled, or a rebalance went unanswered):
        /// rebalances take their default answer.
        case abandoning
    }

    /// Where the dedicated thread is.
    enum ThreadState: Equatable, Sendable {
        case notStarted
        case active
        /// Sleeping until a transition wakes it (the buffer is full, or a rebalance waits for its answer).
        case parked
        case exited
    }

    /// The task iterating the events.
    enum Caller: Sendable {
        case busy
        case waiting(Waiter)
        /// It stopped iterating: nothing more is handed out and rebalances take their default answer.
        case gone
    }

    /// The rebalance the thread is blocked in, inside librdkafka's callback.
    enum Rebalance: Equatable, Sendable {
        case none
        case awaiting(id: UInt64)
        case answered(id: UInt64, offsets: [TopicPartition: Int64])
    }

    /// A caller to resume outside the lock, with a handout, or `nil` when the events end.
    struct Resume: Sendable {
        var waiter: Waiter
        var handout: KafkaGroupHandout?
    }

    enum NextAction: Sendable {
        case deliver(KafkaGroupHandout, wakeThread: Bool)
        case end
        /// The caller's continuation is stored; a later transition resumes it.
        case suspended
    }

    enum ThreadAction: Equatable, Sendable {
        case poll
        case close
        /// Sleep until woken, then ask again.
        case park
    }

    enum RebalanceWait: Equatable, Sendable {
        /// The caller's start offsets (empty for a revocation, or for defaults).
        case answered([TopicPartition: Int64])
        /// Nobody will answer (the caller is gone, or the group is being abandoned): take the default.
        case answerDefault
        /// The answer did not come in time: take no partitions; the group leaves and fails.
        case timedOut
        case park
    }

    private(set) var lifecycle = Lifecycle.consuming
    private(set) var thread = ThreadState.notStarted
    private(set) var caller = Caller.busy
    private(set) var rebalance = Rebalance.none
    /// Events waiting for the caller; a batch lands here only when full or before a rebalance.
    private(set) var buffer: [KafkaGroupHandout] = []
    /// The batch being gathered; the caller takes it as it is when it asks and the buffer is empty.
    private(set) var pending: [InboundRecord] = []
    private var pendingBytes = 0
    private var nextRebalanceID: UInt64 = 1
    private(set) var failure: KafkaError?

    /// How many events may wait for the caller before the thread stops polling.
    let maxBufferedEvents: Int
    let rebalanceAnswerTimeoutMs: Int

    init(maxBufferedEvents: Int, rebalanceAnswerTimeoutMs: Int) {
        self.maxBufferedEvents = maxBufferedEvents
        self.rebalanceAnswerTimeoutMs = rebalanceAnswerTimeoutMs
    }

    // MARK: The caller's side

    /// `false` when the thread was started before.
    mutating func start() -> Bool {
        guard thread == .notStarted else { return false }
        thread = .active
        return true
    }

    /// The caller asks for the next event.
    mutating func next(_ waiter: Waiter) -> NextAction {
        if case .gone = caller { return .end }
        if !buffer.isEmpty {
            let handout = buffer.removeFirst()
            return .deliver(handout, wakeThread: wakeParkedThread())
        }
        if !pending.isEmpty {
            // The caller is ready for more: it takes what has gathered rather than waiting for a full
            // batch. Pending records are newer than every buffered event, so the order holds.
            return .deliver(.records(takePending()), wakeThread: false)
        }
        if thread == .exited { return .end }
        if case .waiting = caller { preconditionFailure("KafkaConsumerGroup.events supports one iteration") }
        caller = .waiting(waiter)
        return .suspended
    }

    /// The caller stopped iterating; returns the continuation to resume with `nil`, if it waits.
    mutating func stopConsuming() -> (waiter: Waiter?, wakeThread: Bool) {
        var waiting: Waiter?
        if case .waiting(let waiter) = caller { waiting = waiter }
        caller = .gone
        buffer = []
        _ = takePending()
        return (waiting, wakeParkedThread())
    }

    /// The caller's answer to rebalance `id`. Only the first answer to the rebalance the thread
    /// waits in counts; late or repeated ones change nothing. Returns whether to wake the thread.
    mutating func answer(id: UInt64, offsets: [TopicPartition: Int64]) -> Bool {
        guard rebalance == .awaiting(id: id) else { return false }
        rebalance = .answered(id: id, offsets: offsets)
        return wakeParkedThread()
    }

    /// Graceful leave; returns whether to wake the thread.
    mutating func requestClose() -> Bool {
        if lifecycle == .consuming { lifecycle = .closing }
        return wakeParkedThread()
    }

    /// Cancellation: leave without waiting for the caller; returns whether to wake the thread.
    mutating func abandon() -> Bool {
        lifecycle = .abandoning
        return wakeParkedThread()
    }

    // MARK: The thread's side

    /// What the thread does between batches: poll while the caller has room, close when asked.
    mutating func nextThreadAction() -> ThreadAction {
        if lifecycle != .consuming { return .close }
        if case .gone = caller { return .poll }
        if buffer.count < maxBufferedEvents { return .poll }
        thread = .parked
        return .park
    }

    /// Whether the thread should stop gathering the current batch.
    var interruptsPolling: Bool { lifecycle != .consuming }

    /// The size of the batch being gathered and whether the caller waits for it.
    var pendingStatus: (count: Int, callerWaiting: Bool) {
        if case .waiting = caller { return (pending.count, true) }
        return (pending.count, false)
    }

    /// Adds a record to the batch being gathered; returns the batch's size in records and bytes.
    mutating func append(_ record: InboundRecord) -> (count: Int, bytes: Int) {
        pending.append(record)
        pendingBytes += (record.key?.count ?? 0) + (record.value?.count ?? 0)
        return (pending.count, pendingBytes)
    }

    /// Hands the gathered batch (if any) to the caller.
    mutating func flushPending() -> Resume? {
        guard !pending.isEmpty else { return nil }
        return deliver(.records(takePending()))
    }

    /// The thread entered librdkafka's rebalance callback: the gathered records go first, then the
    /// rebalance. Returns the id to wait for (`nil`: take the default answer at once) and the
    /// caller to resume.
    mutating func beginRebalance(_ kind: RDKafkaCallbacks.Rebalance) -> (id: UInt64?, resume: Resume?) {
        let flushed = flushPending()
        if case .gone = caller { return (nil, flushed) }
        if lifecycle == .abandoning { return (nil, flushed) }
        let id = nextRebalanceID
        nextRebalanceID += 1
        rebalance = .awaiting(id: id)
        // At most one resumes the caller: the first one leaves it busy.
        let delivered = deliver(.rebalance(id: id, kind))
        return (id, flushed ?? delivered)
    }

    /// Where rebalance `id` stands; `deadlinePassed` once the answer's time ran out.
    mutating func rebalanceStatus(id: UInt64, deadlinePassed: Bool) -> RebalanceWait {
        if thread == .parked { thread = .active }
        if case .answered(let answered, let offsets) = rebalance, answered == id {
            rebalance = .none
            return .answered(offsets)
        }
        if case .gone = caller {
            rebalance = .none
            return .answerDefault
        }
        if lifecycle == .abandoning {
            rebalance = .none
            return .answerDefault
        }
        if deadlinePassed {
            rebalance = .none
            if failure == nil {
                failure = KafkaError.local(
                    .timedOut,
                    "the consumer did not answer a rebalance within \(rebalanceAnswerTimeoutMs) ms; it leaves the group")
            }
            lifecycle = .abandoning
            return .timedOut
        }
        thread = .parked
        return .park
    }

    /// The thread ended. A waiting caller gets what was still gathered, or the end of the events.
    mutating func finish(failure: KafkaError?) -> Resume? {
        if let failure, self.failure == nil { self.failure = failure }
        thread = .exited
        rebalance = .none
        guard case .waiting(let waiter) = caller else { return nil }
        caller = .busy
        // A waiting caller means the buffer is empty.
        return Resume(waiter: waiter, handout: pending.isEmpty ? nil : .records(takePending()))
    }

    // MARK: Helpers

    private mutating func takePending() -> [InboundRecord] {
        defer {
            pending = []
            pendingBytes = 0
        }
        return pending
    }

    /// Gives `handout` to the waiting caller, or buffers it; dropped when the caller is gone.
    private mutating func deliver(_ handout: KafkaGroupHandout) -> Resume? {
        switch caller {
        case .gone:
            return nil
        case .waiting(let waiter):
            caller = .busy
            return Resume(waiter: waiter, handout: handout)
        case .busy:
            buffer.append(handout)
            return nil
        }
    }

    /// Marks a parked thread active; `true` when the caller must signal it.
    private mutating func wakeParkedThread() -> Bool {
        guard thread == .parked else { return false }
        thread = .active
        return true
    }
}
