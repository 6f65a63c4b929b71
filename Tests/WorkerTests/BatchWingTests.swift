import CheckPipeline
import Foundation
import Logging
import PostgresNIO
import Shared
import Synchronization
import Testing
import TestSupport

@testable import Persistence
@testable import WorkerRuntime

/// The batch wing's seams: the one failure policy, the state seam's cache refresh by locked writers,
/// and phase timing through the task-local clock.
@Suite struct BatchWingTests {
    struct SomeBug: Error {}

    @Test func everyFailureHasOneMeaning() {
        let record = InboundRecord(topic: "t", partition: 0, offset: 0, key: nil, value: nil)
        let unusable = BatchProcessor.UnusableRecord(
            deadLetter: .make(from: record, error: "bad", receivedAtMs: 0))
        #expect(BatchFailure(unusable) == .stop)
        #expect(BatchFailure(EntityStateRepository.VersionConflict(reason: "x")) == .conflict)
        #expect(BatchFailure(BatchProcessor.PreparedBatchFenced()) == .conflict)
        #expect(BatchFailure(DatabaseError(.unreachable, "away")) == .transient)
        #expect(BatchFailure(SomeBug()) == .refusal)
    }

    /// The steps around batches (stored offsets, the offset past a refused record) retry what a batch
    /// retries with backoff, and throw what it would not retry.
    @Test func stepsOutsideABatchFollowThePolicy() async throws {
        let logger = Logger(label: "assure.test")
        let calls = Mutex(0)
        let value = try await BatchFailure.retrying("A step", logger: logger) {
            let call = calls.withLock { $0 += 1; return $0 }
            if call == 1 { throw DatabaseError(.unreachable, "away") }
            if call == 2 { throw EntityStateRepository.VersionConflict(reason: "x") }
            return call
        }
        #expect(value == 3)
        calls.withLock { $0 = 0 }
        await #expect(throws: SomeBug.self) {
            try await BatchFailure.retrying("A step", logger: logger) { () async throws -> Int in
                calls.withLock { $0 += 1 }
                throw SomeBug()
            }
        }
        #expect(calls.withLock { $0 } == 1)
        // Cancellation stops the retries of a database that stays away.
        let forever = Task {
            try await BatchFailure.retrying("A step", logger: logger) { () async throws -> Int in
                throw DatabaseError(.unreachable, "away")
            }
        }
        forever.cancel()
        await #expect(throws: (any Error).self) { try await forever.value }
    }

    @Test func aSweepRefreshesTheSharedCacheWithTheVersionsItWrote() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let topics = driver.settings.topics
            let row = LedgerRow(
                id: "row_1", userId: "user_1", seq: 1, type: .purchase, amount: 500, balanceAfter: 500,
                stripeEventId: "evt_1", stripePaymentIntentId: "pi_1", createdAtMs: driver.clock.now)
            try await driver.consume([
                OutboundMessage(topic: topics.ledger, key: Array("user_1".utf8), value: BillingJSON.ledger(row))
            ])
            let before = try await Self.versions(driver)
            // The worker's sweeper shares the processor's cache.
            let sweeper = Sweeper(
                client: driver.database.client, settings: driver.settings, relayWakeup: WakeupSignal(),
                alertWakeup: WakeupSignal(), logger: driver.env.logger, clock: { [clock = driver.clock] in clock.now },
                cache: driver.processor.cache)
            driver.clock.advance(by: 1)
            try await driver.deliverAllInputs(atMs: driver.clock.now)
            driver.clock.advance(by: driver.settings.checks.settleMs + 1)
            for _ in 0..<10 { guard try await sweeper.sweepOnce().due > 0 else { break } }
            let after = try await Self.versions(driver)
            let rewritten = after.filter { before[$0.key] != $0.value }
            #expect(!rewritten.isEmpty, "the sweep rewrote no state")
            for (key, version) in rewritten {
                let cached = driver.processor.cache.lookup([try #require(StateKey(stringValue: key))]).hits
                #expect(cached.map(\.entry.version) == [version], "\(key)")
            }
            let webhook = WebhookRecord(
                eventId: "evt_1", type: "payment_intent.succeeded", stripePaymentIntentId: "pi_1",
                processedAtMs: driver.clock.now)
            let summary = try await driver.consume([
                OutboundMessage(topic: topics.webhooks, key: Array("evt_1".utf8), value: BillingJSON.webhook(webhook))
            ])
            #expect(summary.applied == 1)
            #expect(summary.stateConflicts == 0)
        }
    }

    @Test func phasesAreChargedToTheBoundTimesOnly() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = BillingTraffic.generate(.init(users: 5, eventsPerUser: 4, seed: 3, endMs: WallClock.nowMs()))
            let messages = traffic.messages(topics: driver.settings.topics)
            let times = BatchPhaseTimes()
            try await BatchPhaseTimes.$current.withValue(times) {
                _ = try await driver.consume(Array(messages.prefix(10)))
            }
            let charged = times.snapshot
            for phase in [BatchPhaseTimes.Phase.decode, .lockStates, .pipeline, .saveStates, .commit] {
                #expect(charged[phase] != nil, "\(phase)")
            }
            _ = try await driver.consume(Array(messages.dropFirst(10)))
            #expect(times.snapshot == charged)
        }
    }

    static func versions(_ driver: DatabaseDriver) async throws -> [String: Int64] {
        let rows = try await driver.query(
            "SELECT key, version FROM assurance.entity_state", as: (String, Int64).self)
        return Dictionary(uniqueKeysWithValues: rows.map { ($0.0, $0.1) })
    }
}
