import Consumers
import Foundation
import Logging
import Shared
import Synchronization

/// Reads output topics from the beginning in a group of its own and keeps every message, so tests and
/// the demo can wait for what the workers published.
public final class TopicCollector: Sendable {
    /// One collected message.
    public struct Message: Sendable, Hashable {
        public var topic: String
        public var key: String?
        public var value: [UInt8]
    }

    private let messages = Mutex<[Message]>([])
    private let group: KafkaConsumerGroup

    public init(topics: [String], bootstrapServers: String, logger: Logger) throws {
        var configuration = KafkaConfiguration(
            bootstrapServers: [bootstrapServers], clientID: "assure-collector",
            groupID: "collector-\(UUID().uuidString)", sessionTimeoutMs: 4000, heartbeatIntervalMs: 500,
            maxBatchWaitMs: 10, reconnectBackoffMaxMs: 500)
        configuration.autoOffsetReset = "earliest"
        self.group = try KafkaConsumerGroup(topics: topics, configuration: configuration, logger: logger)
    }

    /// Consumes until cancelled; run it in a child task.
    public func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await self.group.run() }
            for await event in group.events {
                switch event {
                case .records(let batch):
                    let received = batch.records.map {
                        Message(topic: $0.topic, key: $0.keyString, value: $0.value ?? [])
                    }
                    messages.withLock { $0.append(contentsOf: received) }
                case .partitionsAssigned(let assignment):
                    assignment.start(from: [:])
                case .partitionsRevoked(let revocation):
                    revocation.done()
                }
            }
            try await tasks.waitForAll()
        }
    }

    /// Leaves the group; `run()` returns.
    public func close() { group.close() }

    public var all: [Message] { messages.withLock { $0 } }

    public func messages(on topic: String) -> [Message] { all.filter { $0.topic == topic } }

    /// Issue events with the highest version of each issue.
    public func latestIssues(topic: String) -> [String: IssueEvent] {
        var latest: [String: IssueEvent] = [:]
        let decoder = JSONDecoder()
        for message in messages(on: topic) {
            guard let event = try? decoder.decode(IssueEvent.self, from: Data(message.value)) else { continue }
            if (latest[event.issueId]?.version ?? 0) < event.version { latest[event.issueId] = event }
        }
        return latest
    }

    /// Decodes every message of a topic as `T`.
    public func decoded<T: Decodable>(_ type: T.Type, topic: String) -> [T] {
        let decoder = JSONDecoder()
        return messages(on: topic).compactMap { try? decoder.decode(T.self, from: Data($0.value)) }
    }

    /// Waits until `condition` holds over the collected messages, checking as they arrive, up to `timeout`.
    /// - Returns: whether it held in time.
    @discardableResult
    public func wait(timeout: Duration, until condition: @Sendable (TopicCollector) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if condition(self) { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return condition(self)
    }
}
