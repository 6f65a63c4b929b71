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
/// States live in reference slots so a mutation edits them in place and growing the table never
/// moves large values; changed keys are kept in order of first change.
public final class InMemoryStateStore: StateStore {
    final class Slot {
        var state: EntityState?
        var changed = false
        init(_ state: EntityState?) { self.state = state }
    }

    private var slots: [StateKey: Slot]
    private var changedOrder: [StateKey] = []

    public init(states: [StateKey: EntityState] = [:], minimumCapacity: Int = 0) {
        slots = Dictionary(minimumCapacity: max(minimumCapacity, states.count))
        for (key, state) in states { slots[key] = Slot(state) }
    }

    public func get(_ key: StateKey) -> EntityState? { slots[key]?.state }

    public func mutate(_ key: StateKey, _ body: (inout EntityState?) -> Bool) {
        if let slot = slots[key] {
            if body(&slot.state), !slot.changed {
                slot.changed = true
                changedOrder.append(key)
            }
        } else {
            var state: EntityState? = nil
            if body(&state) {
                let slot = Slot(state)
                slot.changed = true
                slots[key] = slot
                changedOrder.append(key)
            }
        }
    }

    public var changedKeys: Set<StateKey> { Set(changedOrder) }

    /// Replaces a state without marking it changed (loading from the database).
    public func load(_ key: StateKey, _ state: EntityState?) {
        if let slot = slots[key] { slot.state = state } else { slots[key] = Slot(state) }
    }

    /// Forgets which keys changed (after the worker wrote them back).
    public func clearChanged() {
        for key in changedOrder { slots[key]?.changed = false }
        changedOrder.removeAll(keepingCapacity: true)
    }

    /// The changed keys with their states (`nil` for a deleted state), sorted by key.
    public var changes: [(key: StateKey, state: EntityState?)] {
        changedOrder.sorted().map { ($0, slots[$0]?.state) }
    }

    /// All present states, by key.
    public var states: [StateKey: EntityState] { slots.compactMapValues(\.state) }

    /// The keys with a present state.
    public var keys: [StateKey] { slots.compactMap { $0.value.state == nil ? nil : $0.key } }

    /// Keys whose settle deadline or stale flip has passed, sorted (what the worker's sweeper
    /// finds with its indexed query).
    public func dueKeys(nowMs: Int64, watermarkMs: Int64, settings: CheckSettings) -> [StateKey] {
        var due: [StateKey] = []
        for (key, slot) in slots {
            guard let state = slot.state else { continue }
            if let deadline = state.settleDeadlineMs(settleMs: settings.settleMs), deadline <= nowMs {
                due.append(key)
            } else if let staleAt = state.staleAtEventMs(periodMs: settings.periodMs), staleAt <= watermarkMs {
                due.append(key)
            }
        }
        return due.sorted()
    }
}
