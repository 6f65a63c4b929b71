import Shared

/// An in-memory test driver: records in, issue events out (like Kafka Streams' TopologyTestDriver).
///
/// It keeps the state store, the event-time watermark, a processing-time clock and the issue
/// table (versions, `firstSeenAt`, status) the worker would keep, and turns the pipeline's
/// transitions into the contract's `IssueEvent`s. It also checks that every record touched only
/// the keys `IssuePipeline.stateKeys(for:)` names, plus its `dependentKeys(for:store:)`.
public final class PipelineDriver {
    public let pipeline: IssuePipeline
    public let store: InMemoryStateStore
    /// The newest event time seen on any input.
    public private(set) var watermarkMs: Int64 = .min
    /// The processing-time clock (never goes back).
    public private(set) var clockMs: Int64
    /// Every issue event emitted, in order.
    public private(set) var events: [IssueEvent] = []
    /// Every transition the pipeline returned, in order.
    public private(set) var transitions: [IssueTransition] = []
    /// How many records got each disposition.
    public private(set) var dispositions: [RecordDisposition: Int] = [:]
    /// Records that touched a key outside `stateKeys(for:)` (should stay empty).
    public private(set) var keyViolations: [String] = []
    /// The latest event of every issue ever emitted, by issue id.
    public private(set) var issues: [String: IssueEvent] = [:]

    public init(settings: CheckSettings = CheckSettings(), store: InMemoryStateStore = InMemoryStateStore(), startMs: Int64 = 0)
    {
        self.pipeline = IssuePipeline(settings: settings)
        self.store = store
        self.clockMs = startMs
    }

    /// Applies one record at processing time `atMs` (default: the clock), advancing the watermark
    /// by its event time first. Does not tick; call `advance(toMs:)` for that.
    @discardableResult
    public func send(_ record: BillingRecord, atMs: Int64? = nil) -> [IssueEvent] {
        let now = max(clockMs, atMs ?? clockMs)
        clockMs = now
        if let eventTime = record.eventTimeMs { watermarkMs = max(watermarkMs, eventTime) }
        var allowed = Set(IssuePipeline.stateKeys(for: record))
        allowed.formUnion(IssuePipeline.dependentKeys(for: record, store: store))
        let guardStore = KeyRecordingStore(store)
        var out: [IssueTransition] = []
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
        let due = store.dueKeys(nowMs: clockMs, watermarkMs: watermarkMs, settings: pipeline.settings)
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

    /// The issues currently open, sorted by id.
    public var openIssues: [OpenIssue] {
        issues.values.filter { $0.status == .open }.map {
            OpenIssue(
                issueId: $0.issueId, check: $0.check, userId: $0.userId, title: $0.title, evidence: $0.evidence,
                repair: $0.repair, atRisk: $0.atRisk)
        }.sorted()
    }

    /// The ids of the open issues, sorted.
    public var openIssueIds: [String] { openIssues.map(\.issueId) }

    private func publish(_ batch: [IssueTransition]) -> [IssueEvent] {
        transitions += batch
        var emitted: [IssueEvent] = []
        for transition in batch {
            let at = Timestamp.format(min(transition.atMs, clockMs))
            var event: IssueEvent
            if let previous = issues[transition.issueId] {
                if transition.kind == .resolve && previous.status == .resolved { continue }
                event = previous
                event.version += 1
                event.lastSeenAt = at
                event.title = transition.title
                event.evidence = transition.evidence
                event.repair = transition.repair
                event.userId = transition.userId
                event.atRisk = transition.atRisk
                if transition.kind == .resolve {
                    event.status = .resolved
                    event.resolvedAt = at
                    event.resolution = .selfHealed
                } else {
                    event.status = .open
                    event.resolvedAt = nil
                    event.resolution = nil
                }
            } else {
                guard transition.kind != .resolve else { continue }
                event = IssueEvent(
                    issueId: transition.issueId, version: 1, status: .open, check: transition.check,
                    userId: transition.userId, title: transition.title, evidence: transition.evidence,
                    repair: transition.repair, firstSeenAt: at, lastSeenAt: at, atRisk: transition.atRisk)
            }
            issues[transition.issueId] = event
            emitted.append(event)
        }
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
