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
    }

    /// Most entries kept; 0 turns the cache off.
    public let capacity: Int
    private let generations = Mutex(Generations())

    public init(capacity: Int) {
        self.capacity = max(0, capacity)
    }

    /// The cached entries of `keys`, and the keys not cached.
    func lookup(_ keys: [StateKey]) -> (hits: [(key: StateKey, entry: Entry)], misses: [StateKey]) {
        guard capacity > 0 else { return ([], keys) }
        var hits: [(key: StateKey, entry: Entry)] = []
        var misses: [StateKey] = []
        hits.reserveCapacity(keys.count)
        let capacity = self.capacity
        generations.withLock { cached in
            for key in keys {
                if let entry = cached.recent[key] {
                    hits.append((key, entry))
                } else if let entry = cached.older.removeValue(forKey: key) {
                    cached.insert(key, entry, capacity: capacity)
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
        let capacity = self.capacity
        generations.withLock { cached in
            for (key, entry) in entries {
                cached.older[key] = nil
                cached.insert(key, entry, capacity: capacity)
            }
        }
    }

    /// Forgets everything (after a rebalance, when other workers may own what this one cached, or
    /// when a batch stored ahead of its commit failed).
    public func removeAll() {
        generations.withLock { $0 = Generations() }
    }

    /// How many entries are cached.
    public var count: Int {
        generations.withLock { $0.recent.count + $0.older.count }
    }
}
