import CheckPipeline
import Foundation
import Shared
import Synchronization
import Testing
import TestSupport
import WorkerRuntime

/// `BatchPipeline`: a prepared batch whose transaction cannot commit as prepared is redone the
/// sequential way, and nothing is lost or counted twice.
@Suite struct BatchPipelineTests {
    /// Summaries the pipeline reports, in order.
    final class Committed: Sendable {
        private let summaries = Mutex<[BatchProcessor.Summary]>([])
        func append(_ summary: BatchProcessor.Summary) { summaries.withLock { $0.append(summary) } }
        var all: [BatchProcessor.Summary] { summaries.withLock { $0 } }
    }

    /// Runs `batches` through one pipeline over the driver's processor.
    private func pipe(_ batches: [[InboundRecord]], driver: DatabaseDriver) async throws -> [BatchProcessor.Summary] {
        let committed = Committed()
        let processor = driver.processor
        try await withThrowingTaskGroup(of: Bool.self) { commits in
            var pipeline = BatchPipeline(processor: processor, committed: { committed.append($0) })
            for batch in batches { try await pipeline.submit(batch, commits: &commits) }
            try await pipeline.drain(commits: &commits)
        }
        return committed.all
    }

    private func record(_ message: OutboundMessage, offset: Int64) -> InboundRecord {
        InboundRecord(topic: message.topic, partition: 0, offset: offset, key: message.key, value: message.value)
    }

    @Test func aPreparedBatchOnAStaleCachedStateIsRedoneSequentially() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let summaries = try await ConcurrentWriterTests.webhookAfterTheSweeperRewroteItsEvent(driver: driver) {
                message in
                try await pipe([[record(message, offset: 0)]], driver: driver)
            }
            #expect(summaries.map(\.stateConflicts) == [1])
        }
    }

    @Test func aBatchProcessedAlreadyIsFencedOnItsSequentialRedo() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = BillingTraffic.generate(.init(users: 20, eventsPerUser: 10, seed: 5, endMs: WallClock.nowMs()))
            let records = BillingTraffic.inboundRecords(
                traffic.messages(topics: driver.settings.topics), partitions: 2, timestampMs: WallClock.nowMs())
            let half = records.count / 2
            let first = Array(records[..<half])
            let second = Array(records[half...])
            let once = try await pipe([first, second], driver: driver)
            let digest = try await WorkerProbe.entityStateDigest(driver.env)
            // The same records again, as after a rebalance that handed them out a second time.
            let again = try await pipe([first, second], driver: driver)
            #expect(once.map { $0.applied + $0.ignored + $0.deadLetters + $0.skipped }.reduce(0, +) == records.count)
            #expect(once.map(\.fenced).reduce(0, +) == 0)
            #expect(again.map(\.applied).reduce(0, +) == 0)
            #expect(again.map(\.fenced).reduce(0, +) == records.count)
            #expect(try await WorkerProbe.entityStateDigest(driver.env) == digest)
        }
    }
}
