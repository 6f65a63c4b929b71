import Shared

/// Synchronous keyed storage of entity states for one run of the pipeline.
///
/// The worker fills an `InMemoryStateStore` with the states a batch touches, runs the pipeline,
/// and writes back `changedKeys`.
public protocol StateStore: AnyObject {
    /// The state of `key`, `nil` when there is none yet.
    func get(_ key: StateKey) -> EntityState?
    /// Lends the state of `key` for in-place mutation; `body` returns whether it changed anything,
    /// and only then is `key` marked changed. Setting the slot to `nil` deletes the state.
    func mutate(_ key: StateKey, _ body: (inout EntityState?) -> Bool)
    /// The keys changed since the store was created or `clearChanged()` was last called.
    var changedKeys: Set<StateKey> { get }
}

/// The in-memory `StateStore`.
///
/// Entity states are small (a user state is one copy-on-write reference, the others are boxed),
/// so they sit inline in the table with their changed flag and are edited in place.
public final class InMemoryStateStore: StateStore {
    struct Entry {
        var state: EntityState?
        var changed = false
    }

    private var entries: [StateKey: Entry]
    private var changedOrder: [StateKey] = []

    public init(states: [StateKey: EntityState] = [:], minimumCapacity: Int = 0) {
        entries = Dictionary(minimumCapacity: max(minimumCapacity, states.count))
        for (key, state) in states { entries[key] = Entry(state: state) }
    }

    public func get(_ key: StateKey) -> EntityState? { entries[key]?.state }

    public func mutate(_ key: StateKey, _ body: (inout EntityState?) -> Bool) {
        // One hash lookup; a new key gets an empty entry (empty entries count as absent).
        if Self.apply(body, to: &entries[key, default: Entry()]) { changedOrder.append(key) }
    }

    /// Runs `body` on the entry's state; `true` when the entry changed for the first time.
    @inline(__always)
    private static func apply(_ body: (inout EntityState?) -> Bool, to entry: inout Entry) -> Bool {
        guard body(&entry.state), !entry.changed else { return false }
        entry.changed = true
        return true
    }

    public var changedKeys: Set<StateKey> { Set(changedOrder) }

    /// Replaces a state without marking it changed (loading from the database).
    public func load(_ key: StateKey, _ state: EntityState?) { entries[key, default: Entry()].state = state }

    /// Forgets which keys changed (after the worker wrote them back).
    public func clearChanged() {
        for key in changedOrder { entries[key]?.changed = false }
        changedOrder.removeAll(keepingCapacity: true)
    }

    /// The changed keys with their states (`nil` for a deleted state), sorted by key.
    public var changes: [(key: StateKey, state: EntityState?)] {
        changedOrder.sorted().map { ($0, entries[$0]?.state) }
    }

    /// All present states, by key.
    public var states: [StateKey: EntityState] { entries.compactMapValues(\.state) }

    /// The keys with a present state.
    public var keys: [StateKey] { entries.compactMap { $0.value.state == nil ? nil : $0.key } }

    /// Keys whose settle deadline or stale flip has passed, sorted (what the worker's sweeper
    /// finds with its indexed query).
    public func dueKeys(
        nowMs: Int64, watermarkMs: Int64, settings: CheckSettings, inputs: InputClock = .untracked
    ) -> [StateKey] {
        var due: [StateKey] = []
        for (key, entry) in entries {
            guard let state = entry.state else { continue }
            if let deadline = state.settleDeadlineMs(settleMs: settings.settleMs, baseline: settings.ledgerBaseline),
                deadline <= nowMs || HeldDeadline.isReleasable(deadline, clock: inputs)
            {
                due.append(key)
            } else if let staleAt = state.staleAtEventMs(periodMs: settings.periodMs), staleAt <= watermarkMs {
                due.append(key)
            }
        }
        return due.sorted()
    }
}
