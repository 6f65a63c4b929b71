import Foundation

/// Wall time spent in each phase of processed batches, summed over batches (for the benchmark).
///
/// Phases are per batch, not per record, so timing them costs a few clock reads per batch.
public final class BatchPhaseTimes: @unchecked Sendable {
    // @unchecked: `totals` is only touched under `lock`.

    /// The steps of `BatchProcessor.processData`, in order.
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

    private let lock = NSLock()
    private var totals: [Phase: Duration] = [:]

    public init() {}

    public func add(_ phase: Phase, _ duration: Duration) {
        lock.lock()
        defer { lock.unlock() }
        totals[phase, default: .zero] += duration
    }

    /// The summed time of each phase so far.
    public var snapshot: [Phase: Duration] {
        lock.lock()
        defer { lock.unlock() }
        return totals
    }

    public func reset() {
        lock.lock()
        defer { lock.unlock() }
        totals = [:]
    }
}

/// Times consecutive phases of one batch: each `end` charges the time since the previous one.
struct PhaseLap {
    let times: BatchPhaseTimes?
    private var last: ContinuousClock.Instant

    init(times: BatchPhaseTimes?) {
        self.times = times
        last = .now
    }

    @inline(__always)
    mutating func end(_ phase: BatchPhaseTimes.Phase) {
        guard let times else { return }
        let now = ContinuousClock.now
        times.add(phase, now - last)
        last = now
    }
}
