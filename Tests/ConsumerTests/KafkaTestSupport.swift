import Foundation
import Logging
import Shared
import Synchronization

@testable import Consumers

/// Helpers shared by the Kafka tests (mock cluster configuration, a group member that stores
/// offsets in memory, polling with a deadline).
enum KafkaTestSupport {
    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .warning
        return logger
    }

    /// Fast-rebalancing settings for the mock cluster (facts.md: 4 s session, 500 ms heartbeat).
    static func configuration(_ cluster: MockKafkaCluster, group: String = "assure-test") -> KafkaConfiguration {
        KafkaConfiguration(
            bootstrapServers: [cluster.bootstrapServers],
            groupID: group,
            sessionTimeoutMs: 4_000,
            heartbeatIntervalMs: 500,
            maxBatchSize: 500,
            maxBatchWaitMs: 20,
            rebalanceAnswerTimeoutMs: 20_000,
            messageTimeoutMs: 15_000,
            reconnectBackoffMaxMs: 200)
    }

    /// Polls `condition` every 20 ms until it holds, failing after `timeout`.
    static func eventually(
        _ what: String, timeout: Duration = .seconds(30), _ condition: () -> Bool
    ) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            guard ContinuousClock.now < deadline else { throw TimeoutError(what: what) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    struct TimeoutError: Error, CustomStringConvertible {
        var what: String
        var description: String { "timed out waiting for \(what)" }
    }
}

/// Offsets the test "stores" the way the worker stores them in PostgreSQL.
final class InMemoryOffsetStore: Sendable {
    private let offsets = Mutex([TopicPartition: Int64]())

    func store(_ next: [TopicPartition: Int64]) {
        offsets.withLock { $0.merge(next) { max($0, $1) } }
    }

    func lookup(_ partitions: [TopicPartition]) -> [TopicPartition: Int64] {
        offsets.withLock { stored in stored.filter { partitions.contains($0.key) } }
    }
}

/// A consumer-group member driven like the worker drives it: records are appended, then their
/// offsets stored; assignments start from the stored offsets.
final class TestGroupMember: Sendable {
    struct Observed {
        var records: [InboundRecord] = []
        var assignment: [TopicPartition] = []
        var assignments: [[TopicPartition]] = []
        var revocations: [[TopicPartition]] = []
        /// The start offsets handed over at each assignment.
        var startOffsets: [[TopicPartition: Int64]] = []
    }

    let group: KafkaConsumerGroup
    let offsets: InMemoryOffsetStore
    private let observed = Mutex(Observed())

    init(topics: [String], configuration: KafkaConfiguration, offsets: InMemoryOffsetStore, name: String) throws {
        group = try KafkaConsumerGroup(topics: topics, configuration: configuration, logger: KafkaTestSupport.logger(name))
        self.offsets = offsets
    }

    var snapshot: Observed { observed.withLock { $0 } }

    /// Runs the group and consumes its events until it closes.
    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.group.run() }
            tasks.addTask { await self.consume() }
            try await tasks.waitForAll()
        }
    }

    private func consume() async {
        for await event in group.events {
            switch event {
            case .records(let batch):
                observed.withLock { $0.records.append(contentsOf: batch.records) }
                offsets.store(batch.nextOffsets)
            case .partitionsRevoked(let revocation):
                observed.withLock {
                    $0.revocations.append(revocation.partitions)
                    $0.assignment = []
                }
                revocation.done()
            case .partitionsAssigned(let assignment):
                let start = offsets.lookup(assignment.partitions)
                observed.withLock {
                    $0.assignment = assignment.partitions
                    $0.assignments.append(assignment.partitions)
                    $0.startOffsets.append(start)
                }
                assignment.start(from: start)
            }
        }
    }
}
