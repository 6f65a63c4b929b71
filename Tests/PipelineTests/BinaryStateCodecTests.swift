import CheckPipeline
import Foundation
import Shared
import Testing

/// The binary entity-state form the worker stores: exact round trips over the states that random
/// streams drive the pipeline through, and clean errors for damaged bytes.
@Suite struct BinaryStateCodecTests {
    /// Runs a seeded random stream, calling `check` on the store every few deliveries and at the end.
    static func drive(seed: UInt64, users: Int, every: Int = 25, _ check: (InMemoryStateStore) throws -> Void) rethrows {
        let deliveries = StreamGenerator.make(seed: seed, users: users)
        let driver = PipelineDriver(settings: StreamGenerator.settings, startMs: deliveries.first?.atMs ?? 0)
        var lastTick = Int64.min
        for (index, delivery) in deliveries.enumerated() {
            if delivery.atMs >= lastTick &+ 2_000 {
                driver.advance(toMs: delivery.atMs)
                lastTick = delivery.atMs
            }
            driver.send(delivery.record, atMs: delivery.atMs)
            if index % every == 0 { try check(driver.store) }
        }
        driver.settleAll()
        try check(driver.store)
    }

    @Test(arguments: 0..<40)
    func statesOfRandomStreams_roundTripExactly(seed: UInt64) throws {
        var kinds = Set<StateKey.Kind>()
        var checked = 0
        try Self.drive(seed: seed, users: 8) { store in
            for (key, state) in store.states {
                let bytes = state.binary
                #expect(bytes.first == EntityState.binaryVersion)
                let back = try EntityState(binary: bytes)
                #expect(back == state, "seed \(seed), \(key)")
                // Encoding is deterministic, so unchanged states write unchanged bytes.
                #expect(back.binary == bytes, "seed \(seed), \(key)")
                kinds.insert(key.kind)
                checked += 1
            }
        }
        #expect(checked > 0)
        #expect(kinds.contains(.user) && kinds.contains(.stripeEvent) && kinds.contains(.planGate))
    }

    @Test func reloadedBinaryStates_carryOnLikeTheOriginals() throws {
        let deliveries = StreamGenerator.make(seed: 7, users: 10)
        let half = deliveries.count / 2
        let original = PipelineDriver(settings: StreamGenerator.settings, startMs: deliveries[0].atMs)
        for delivery in deliveries[..<half] { original.send(delivery.record, atMs: delivery.atMs) }
        // A second store loaded from the binary forms of the first one's states.
        let reloaded = InMemoryStateStore()
        for (key, state) in original.store.states { reloaded.load(key, try EntityState(binary: state.binary)) }
        #expect(reloaded.states == original.store.states)
        let pipeline = IssuePipeline(settings: StreamGenerator.settings)
        var watermark = original.watermarkMs
        for delivery in deliveries[half...] {
            if let eventTime = delivery.record.eventTimeMs { watermark = max(watermark, eventTime) }
            let expected = original.pipeline.apply(
                delivery.record, nowMs: delivery.atMs, watermarkMs: watermark, store: original.store)
            let actual = pipeline.apply(delivery.record, nowMs: delivery.atMs, watermarkMs: watermark, store: reloaded)
            #expect(actual == expected)
        }
        #expect(reloaded.states == original.store.states)
    }

    @Test func binaryForm_isSmallerThanJSON() throws {
        var binaryBytes = 0
        var jsonBytes = 0
        try Self.drive(seed: 3, users: 8, every: 1_000_000) { store in
            for state in store.states.values {
                binaryBytes += state.binary.count
                jsonBytes += try JSONEncoder().encode(state).count
            }
        }
        #expect(binaryBytes * 3 < jsonBytes, "binary \(binaryBytes) B, JSON \(jsonBytes) B")
    }

    @Test func damagedBytes_throwInsteadOfCrashing() throws {
        var samples: [[UInt8]] = []
        Self.drive(seed: 11, users: 4, every: 1_000_000) { store in
            samples = store.states.values.map(\.binary)
        }
        #expect(!samples.isEmpty)
        for bytes in samples {
            // Every strict prefix is truncated somewhere, except those that end where an older layout
            // ended (a user state before the Stripe fields, and before untracked holes): rows written
            // by an older version still read.
            var decodedPrefixes = 0
            for length in 0..<bytes.count where (try? EntityState(binary: Array(bytes[..<length]))) != nil {
                decodedPrefixes += 1
            }
            #expect(decodedPrefixes <= 2)
            #expect(throws: EntityStateBinaryError.self) { try EntityState(binary: bytes + [0]) }
            var newer = bytes
            newer[0] = EntityState.binaryVersion &+ 1
            #expect(throws: EntityStateBinaryError.self) { try EntityState(binary: newer) }
        }
        // Flipped bytes either throw or decode to some state; they never trap.
        var rng = SplitMix64(seed: 99)
        for bytes in samples where bytes.count > 2 {
            for _ in 0..<50 {
                var damaged = bytes
                let index = Int.random(in: 1..<damaged.count, using: &rng)
                damaged[index] = UInt8.random(in: 0...255, using: &rng)
                _ = try? EntityState(binary: damaged)
            }
        }
    }
}
