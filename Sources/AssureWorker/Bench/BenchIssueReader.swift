import Consumers
import Foundation
import Logging
import Shared
import Synchronization

/// Reads the issues topic as a user's consumer would and notes when each issue id was first seen.
///
/// `fetch.wait.max.ms` stays at 5 ms (the mock cluster answers a fetch only when it expires) and a
/// batch waits 1 ms for more records, so the arrival time is the time the issue event became readable.
final class BenchIssueReader: Sendable {
    private struct Seen {
        var first: [String: ContinuousClock.Instant] = [:]
        var events = 0
    }

    private struct IssueId: Decodable {
        var issueId: String
    }

    private let seen = Mutex(Seen())
    private let group: KafkaConsumerGroup

    init(topic: String, bootstrapServers: String, logger: Logger) throws {
        var configuration = KafkaConfiguration(
            bootstrapServers: [bootstrapServers], clientID: "assure-bench-reader",
            groupID: "bench-reader-\(UUID().uuidString)", sessionTimeoutMs: 4000, heartbeatIntervalMs: 500,
            maxBatchSize: 10_000, maxBatchWaitMs: 1, reconnectBackoffMaxMs: 500)
        configuration.autoOffsetReset = "earliest"
        configuration.fetchTuning["fetch.wait.max.ms"] = "5"
        group = try KafkaConsumerGroup(topics: [topic], configuration: configuration, logger: logger)
    }

    /// Consumes until ``close()``; run it in a child task.
    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.group.run() }
            let decoder = JSONDecoder()
            for await event in group.events {
                switch event {
                case .records(let batch):
                    let now = ContinuousClock.now
                    let ids = batch.records.compactMap { record in
                        record.value.flatMap { try? decoder.decode(IssueId.self, from: Data($0)).issueId }
                    }
                    seen.withLock { seen in
                        seen.events += batch.records.count
                        for id in ids where seen.first[id] == nil { seen.first[id] = now }
                    }
                case .partitionsAssigned(let assignment):
                    assignment.start(from: [:])
                case .partitionsRevoked(let revocation):
                    revocation.done()
                }
            }
            try await tasks.waitForAll()
        }
    }

    func close() { group.close() }

    /// Issue events read so far (every version).
    var eventCount: Int { seen.withLock { $0.events } }

    /// When each of `issueIds` was first seen (nil where not yet).
    func firstSeen(_ issueIds: [String]) -> [ContinuousClock.Instant?] {
        seen.withLock { seen in issueIds.map { seen.first[$0] } }
    }

    /// How many of `issueIds` have been seen.
    func seenCount(_ issueIds: [String]) -> Int {
        seen.withLock { seen in issueIds.reduce(0) { $0 + (seen.first[$1] == nil ? 0 : 1) } }
    }
}
