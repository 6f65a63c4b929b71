import CheckPipeline
import Testing

@testable import WorkerRuntime

@Suite struct EntityStateCacheTests {
    private func entries(_ range: Range<Int>, version: Int64 = 1) -> [(key: StateKey, entry: EntityStateCache.Entry)] {
        range.map { (StateKey.user("u\($0)"), EntityStateCache.Entry(state: nil, version: version)) }
    }

    @Test func keepsAtMostItsCapacityAndTheRecentlyUsedEntries() {
        let cache = EntityStateCache(capacity: 100)
        cache.store(entries(0..<50))
        cache.store(entries(50..<60))
        // u0..u49 are the older generation now; a hit moves u0 back to the recent one.
        #expect(cache.lookup([.user("u0")]).hits.count == 1)
        cache.store(entries(60..<100))
        #expect(cache.count <= 100)
        let (hits, misses) = cache.lookup([.user("u0"), .user("u1"), .user("u99")])
        #expect(Set(hits.map(\.key)) == [.user("u0"), .user("u99")])
        #expect(misses == [.user("u1")])
    }

    /// Writers refresh entries (`EntityStateAccess.committed`); nothing forgets a single one. A
    /// rebalance or a failed pipelined commit forgets them all.
    @Test func aRefreshReplacesAnEntryAndRemoveAllForgetsEveryOne() {
        let cache = EntityStateCache(capacity: 10)
        cache.store(entries(0..<3, version: 7))
        cache.store(entries(1..<2, version: 8))
        let (hits, misses) = cache.lookup([.user("u0"), .user("u1"), .user("u3")])
        #expect(hits.map(\.entry.version) == [7, 8])
        #expect(misses == [.user("u3")])
        cache.removeAll()
        #expect(cache.count == 0)
        #expect(cache.lookup([.user("u0")]).misses == [.user("u0")])
    }

    /// A stream of new Stripe event and payment intent keys (each touched by a few records, then
    /// never again) keeps to its eighth of the capacity and leaves the users cached.
    @Test func passingKeysDoNotPushUsersOut() {
        let cache = EntityStateCache(capacity: 80)
        cache.store(entries(0..<30))
        for round in 0..<50 {
            cache.store([
                (.stripeEvent("evt_\(round)"), EntityStateCache.Entry(state: nil, version: 1)),
                (.paymentIntent("pi_\(round)"), EntityStateCache.Entry(state: nil, version: 1)),
            ])
        }
        let users = (0..<30).map { StateKey.user("u\($0)") }
        #expect(cache.lookup(users).misses.isEmpty)
        #expect(cache.count <= 80)
        // The latest passing keys are still there, the first ones are gone.
        #expect(cache.lookup([.stripeEvent("evt_49")]).hits.count == 1)
        #expect(cache.lookup([.stripeEvent("evt_0"), .paymentIntent("pi_0")]).misses.count == 2)
    }

    @Test func capacityZeroCachesNothing() {
        let cache = EntityStateCache(capacity: 0)
        cache.store(entries(0..<3))
        #expect(cache.lookup([.user("u0")]).misses == [.user("u0")])
    }
}
