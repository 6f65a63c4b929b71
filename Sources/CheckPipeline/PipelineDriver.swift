import Shared

/// An in-memory test driver: records in, issue events out (like Kafka Streams' TopologyTestDriver).
///
/// It keeps the state store, the event-time watermark, a processing-time clock and the issue
/// table the worker keeps in `assurance.issues`, and turns the pipeline's changes into the
/// contract's `IssueEvent`s with the worker's own `IssueReducer`. It also checks that every record
/// touched only the keys `IssuePipeline.stateKeys(for:)` names, plus its `dependentKeys(for:store:)`.
public final class PipelineDriver {
    public private(set) var pipeline: IssuePipeline
    public let store: InMemoryStateStore
    /// The newest event time seen on any input.
    public private(set) var watermarkMs: Int64 = .min
    /// The processing-time clock (never goes back).
    public private(set) var clockMs: Int64
    /// Every issue event emitted, in order.
    public private(set) var events: [IssueEvent] = []
    /// Every issue change the pipeline (or `act`) returned, in order.
    public private(set) var changes: [IssueChange] = []
    /// How many records got each disposition.
    public private(set) var dispositions: [RecordDisposition: Int] = [:]
    /// Records that touched a key outside `stateKeys(for:)` (should stay empty).
    public private(set) var keyViolations: [String] = []
    /// The latest state of every issue ever emitted, by issue id (the worker's `assurance.issues`).
    public private(set) var states: [String: IssueState] = [:]
    /// The latest event of every issue ever emitted, by issue id.
    public var issues: [String: IssueEvent] { states.mapValues(\.event) }

    /// Deliveries per input when inputs are tracked (see `init(trackInputs:)`).
    private var deliveries: [InputTopic: InputClock.Input] = [:]
    private let trackInputs: Bool

    /// With `trackInputs`, every record sent counts as a delivery of its input (as the worker's
    /// consumer records them) and checks waiting on a silent input are held; `deliver` adds
    /// deliveries that apply nothing (another user's records, a redelivery).
    public init(
        settings: CheckSettings = CheckSettings(), store: InMemoryStateStore = InMemoryStateStore(), startMs: Int64 = 0,
        trackInputs: Bool = false
    ) {
        self.pipeline = IssuePipeline(settings: settings, inputs: trackInputs ? .tracked([:]) : .untracked)
        self.store = store
        self.clockMs = startMs
        self.trackInputs = trackInputs
    }

    /// Records a delivery of `input` at `atMs` (default: the clock), without applying anything.
    public func deliver(_ input: InputTopic, atMs: Int64? = nil) {
        guard trackInputs else { return }
        let now = max(clockMs, atMs ?? clockMs)
        clockMs = now
        var state = deliveries[input] ?? InputClock.Input(lastDeliveredMs: nil)
        // The first delivery ends a silence that began at the start of time.
        let last = state.lastDeliveredMs ?? .min
        if now > last { state.silences.append(InputClock.Silence(fromMs: last, resumedAtMs: now)) }
        state.lastDeliveredMs = max(state.lastDeliveredMs ?? now, now)
        deliveries[input] = state
        pipeline.inputs = .tracked(deliveries)
    }

    /// Applies one record at processing time `atMs` (default: the clock), advancing the watermark
    /// by its event time first. Does not tick; call `advance(toMs:)` for that.
    @discardableResult
    public func send(_ record: BillingRecord, atMs: Int64? = nil) -> [IssueEvent] {
        let now = max(clockMs, atMs ?? clockMs)
        clockMs = now
        switch record {
        case .ledger: deliver(.ledger)
        case .account: deliver(.accounts)
        case .webhook: deliver(.webhooks)
        case .planGate, .stripe: break
        }
        if let eventTime = record.eventTimeMs { watermarkMs = max(watermarkMs, eventTime) }
        var allowed = Set(IssuePipeline.stateKeys(for: record))
        allowed.formUnion(IssuePipeline.dependentKeys(for: record, store: store))
        let guardStore = KeyRecordingStore(store)
        var out: [IssueChange] = []
        let disposition = pipeline.apply(record, nowMs: now, watermarkMs: watermarkMs, store: guardStore, into: &out)
        dispositions[disposition, default: 0] += 1
        for key in guardStore.touched where !allowed.contains(key) {
            keyViolations.append("\(record) touched \(key)")
        }
        return publish(out)
    }

    /// Applies records in order at the current clock.
    @discardableResult
    public func send(_ records: [BillingRecord]) -> [IssueEvent] { records.flatMap { send($0) } }

    /// Moves the clock to `toMs` and ticks every key whose settle deadline or stale flip is due,
    /// as the worker's sweeper does.
    @discardableResult
    public func advance(toMs: Int64) -> [IssueEvent] {
        clockMs = max(clockMs, toMs)
        let due = store.dueKeys(
            nowMs: clockMs, watermarkMs: watermarkMs, settings: pipeline.settings, inputs: pipeline.inputs)
        return publish(pipeline.tick(keys: due, nowMs: clockMs, watermarkMs: watermarkMs, store: store))
    }

    /// Moves the event-time watermark forward (as records of other users would) and ticks what is due.
    @discardableResult
    public func advanceWatermark(toMs: Int64) -> [IssueEvent] {
        watermarkMs = max(watermarkMs, toMs)
        return advance(toMs: clockMs)
    }

    /// Ticks every key with processing time at +infinity: everything pending settles.
    @discardableResult
    public func settleAll() -> [IssueEvent] {
        publish(pipeline.tick(keys: store.keys.sorted(), nowMs: .max, watermarkMs: watermarkMs, store: store))
    }

    /// Applies operator actions (or any other change) at the clock, as a command would.
    @discardableResult
    public func act(_ changes: [IssueChange]) -> [IssueEvent] { publish(changes) }

    /// The issues currently open, sorted by id.
    public var openIssues: [OpenIssue] {
        states.values.lazy.map(\.event).filter { $0.status == .open }.map {
            OpenIssue(
                issueId: $0.issueId, check: $0.check, userId: $0.userId, title: $0.title, evidence: $0.evidence,
                repair: $0.repair, atRisk: $0.atRisk)
        }.sorted()
    }

    /// The ids of the open issues, sorted.
    public var openIssueIds: [String] { openIssues.map(\.issueId) }

    private func publish(_ batch: [IssueChange]) -> [IssueEvent] {
        // A settle at +infinity stamps its changes with the clock, as the worker's sweeper would.
        let stamped = batch.map { change in
            var change = change
            change.atMs = min(change.atMs, clockMs)
            return change
        }
        changes += stamped
        let emitted = IssueReducer.apply(stamped, to: &states)
        events += emitted
        return emitted
    }
}

/// A `StateStore` wrapper that records every key read or written.
final class KeyRecordingStore<Base: StateStore>: StateStore {
    let base: Base
    var touched: Set<StateKey> = []

    init(_ base: Base) { self.base = base }

    func get(_ key: StateKey) -> EntityState? {
        touched.insert(key)
        return base.get(key)
    }

    func mutate(_ key: StateKey, _ body: (inout EntityState?) -> Bool) {
        touched.insert(key)
        base.mutate(key, body)
    }

    var changedKeys: Set<StateKey> { base.changedKeys }
}
