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

/// The in-memory `StateStore`: a dictionary plus the set of changed keys.
public final class InMemoryStateStore: StateStore {
    public private(set) var states: [StateKey: EntityState]
    public private(set) var changedKeys: Set<StateKey> = []

    public init(states: [StateKey: EntityState] = [:]) { self.states = states }

    public func get(_ key: StateKey) -> EntityState? { states[key] }

    public func mutate(_ key: StateKey, _ body: (inout EntityState?) -> Bool) {
        if body(&states[key]) { changedKeys.insert(key) }
    }

    /// Replaces a state without marking it changed (loading from the database).
    public func load(_ key: StateKey, _ state: EntityState?) { states[key] = state }

    public func clearChanged() { changedKeys.removeAll(keepingCapacity: true) }

    /// The changed keys with their states (`nil` for a deleted state), sorted by key.
    public var changes: [(key: StateKey, state: EntityState?)] {
        changedKeys.sorted().map { ($0, states[$0]) }
    }

    public var keys: Dictionary<StateKey, EntityState>.Keys { states.keys }

    /// Keys whose settle deadline or stale flip has passed, sorted (what the worker's sweeper
    /// finds with its indexed query).
    public func dueKeys(nowMs: Int64, watermarkMs: Int64, settings: CheckSettings) -> [StateKey] {
        var due: [StateKey] = []
        for (key, state) in states {
            if let deadline = state.settleDeadlineMs(settleMs: settings.settleMs), deadline <= nowMs {
                due.append(key)
            } else if let staleAt = state.staleAtEventMs(periodMs: settings.periodMs), staleAt <= watermarkMs {
                due.append(key)
            }
        }
        return due.sorted()
    }
}
