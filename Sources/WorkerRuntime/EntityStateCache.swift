import CheckPipeline
import Synchronization

/// Entity states this worker read or wrote lately, each with the version of its row.
///
/// A batch takes the states it finds here instead of reading them. An entry can go stale (another
/// worker wrote the row since): the batch's versioned write then fails and the batch is redone with
/// locked reads, so a stale entry costs time, never correctness. Only committed versions may be
/// stored, except by `BatchPipeline`, which empties the cache whenever a batch it stored ahead of its
/// commit fails (a version that never committed could be taken by another writer for other contents).
///
/// The capacity bounds memory with two generations: when the recent one is full it becomes the
/// older one and the previous older one is dropped; a hit in the older one moves back to the recent.
///
/// Keys of one Stripe event, payment intent or invoice are touched by a few records close in time,
/// then never again; users, Stripe customers and plan gates come back for as long as they live. The
/// passing kinds get an eighth of the capacity, generations of their own, so that a stream of new
/// ones (0.6 per purchase-heavy ledger row) cannot push the users out.
public final class EntityStateCache: Sendable {
    /// A cached state and the version of its row (every cached key has a row).
    public struct Entry: Sendable {
        public var state: EntityState?
        public var version: Int64

        public init(state: EntityState?, version: Int64) {
            self.state = state
            self.version = version
        }
    }

    private struct Generations {
        var recent: [StateKey: Entry] = [:]
        var older: [StateKey: Entry] = [:]

        mutating func insert(_ key: StateKey, _ entry: Entry, capacity: Int) {
            if recent.count >= max(1, capacity / 2), recent[key] == nil {
                older = recent
                recent = Dictionary(minimumCapacity: capacity / 2)
            }
            recent[key] = entry
        }

        /// The entry of `key`, moved back to the recent generation if it was in the older one.
        mutating func take(_ key: StateKey, capacity: Int) -> Entry? {
            if let entry = recent[key] { return entry }
            guard capacity > 0, let entry = older.removeValue(forKey: key) else { return nil }
            insert(key, entry, capacity: capacity)
            return entry
        }

        mutating func replace(_ key: StateKey, _ entry: Entry, capacity: Int) {
            guard capacity > 0 else { return }
            older[key] = nil
            insert(key, entry, capacity: capacity)
        }

        var count: Int { recent.count + older.count }
    }

    private struct Kinds {
        var lasting = Generations()
        var passing = Generations()
    }

    /// Most entries kept; 0 turns the cache off.
    public let capacity: Int
    private let passingCapacity: Int
    private let kinds = Mutex(Kinds())

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
        self.passingCapacity = self.capacity / 8
    }

    private static func isPassing(_ key: StateKey) -> Bool {
        switch key {
        case .stripeEvent, .paymentIntent, .invoice: true
        case .user, .planGate, .stripeCustomer: false
        }
    }

    /// The cached entries of `keys`, and the keys not cached.
    func lookup(_ keys: [StateKey]) -> (hits: [(key: StateKey, entry: Entry)], misses: [StateKey]) {
        guard capacity > 0 else { return ([], keys) }
        var hits: [(key: StateKey, entry: Entry)] = []
        var misses: [StateKey] = []
        hits.reserveCapacity(keys.count)
        let (lastingCapacity, passingCapacity) = (capacity - self.passingCapacity, self.passingCapacity)
        kinds.withLock { kinds in
            for key in keys {
                let passing = Self.isPassing(key)
                let found =
                    passing
                    ? kinds.passing.take(key, capacity: passingCapacity) : kinds.lasting.take(key, capacity: lastingCapacity)
                if let entry = found {
                    hits.append((key, entry))
                } else {
                    misses.append(key)
                }
            }
        }
        return (hits, misses)
    }

    /// Remembers states as they are after a committed transaction (or, for `BatchPipeline`, will be).
    func store(_ entries: [(key: StateKey, entry: Entry)]) {
        guard capacity > 0, !entries.isEmpty else { return }
        let (lastingCapacity, passingCapacity) = (capacity - self.passingCapacity, self.passingCapacity)
        kinds.withLock { kinds in
            for (key, entry) in entries {
                if Self.isPassing(key) {
                    kinds.passing.replace(key, entry, capacity: passingCapacity)
                } else {
                    kinds.lasting.replace(key, entry, capacity: lastingCapacity)
                }
            }
        }
    }

    /// Forgets everything (after a rebalance, when other workers may own what this one cached, or
    /// when a batch stored ahead of its commit failed).
    public func removeAll() {
        kinds.withLock { $0 = Kinds() }
    }

    /// How many entries are cached.
    public var count: Int {
        kinds.withLock { $0.lasting.count + $0.passing.count }
    }
}
