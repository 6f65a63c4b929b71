import Synchronization

/// Wall time spent in each phase of processed batches, summed over batches (for the benchmark).
///
/// Phases are per batch, not per record, so timing them costs a few clock reads per batch. Nothing
/// is passed down for it: whoever wants the times binds `BatchPhaseTimes.current` around the work
/// (`$current.withValue(times) { … }`), and the batch code's `PhaseLap`s charge it; child tasks and
/// the tasks `DatabaseDeadline` starts inherit the binding.
public final class BatchPhaseTimes: Sendable {
    /// Where the batches of the current task charge their phases; `nil` (the worker) times nothing.
    @TaskLocal public static var current: BatchPhaseTimes?

    /// The steps of a batch, in order.
    public enum Phase: String, Sendable, CaseIterable {
        /// Decoding the input messages (outside the transaction).
        case decode
        /// `BEGIN` (and taking a pooled connection).
        case begin
        /// Locking the batch's offset rows (the fence).
        case lockOffsets
        /// Dropping fenced records and collecting the state keys the batch touches.
        case collectKeys
        /// Reading the entity state rows the cache lacks (locked, after a conflict) and the watermark (SQL).
        case lockStates
        /// Decoding the loaded entity states.
        case decodeStates
        /// Running the check pipeline over the batch.
        case pipeline
        /// Encoding the changed entity states.
        case encodeStates
        /// Writing the changed entity states (SQL).
        case saveStates
        /// Locking, merging and writing issue rows (SQL and JSON).
        case issues
        /// Encoding issue events and appending the outbox rows.
        case outbox
        /// Storing the new offsets.
        case storeOffsets
        /// `COMMIT` (the WAL flush when fsync is on).
        case commit
        /// Per-batch metrics after commit.
        case metrics
    }

    private let totals = Mutex<[Phase: Duration]>([:])

    public init() {}

    public func add(_ phase: Phase, _ duration: Duration) {
        totals.withLock { $0[phase, default: .zero] += duration }
    }

    /// The summed time of each phase so far.
    public var snapshot: [Phase: Duration] {
        totals.withLock { $0 }
    }
}

/// Times consecutive phases of one batch step: each `end` charges the time since the previous one
/// (or since `init`/`restart`) to `BatchPhaseTimes.current`; without one it reads no clock.
struct PhaseLap {
    private let times: BatchPhaseTimes?
    private var last: ContinuousClock.Instant?

    init() {
        times = BatchPhaseTimes.current
        last = times == nil ? nil : .now
    }

    @inline(__always)
    mutating func end(_ phase: BatchPhaseTimes.Phase) {
        guard let times, let last else { return }
        let now = ContinuousClock.now
        times.add(phase, now - last)
        self.last = now
    }

    /// Starts the next phase now, charging nothing (after a call that timed its own phases).
    @inline(__always)
    mutating func restart() {
        if times != nil { last = .now }
    }
}
