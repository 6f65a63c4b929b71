import Foundation
import Shared
import Testing

@testable import Consumers

/// Rebalances through the consumer group's handshake, against the in-process mock cluster.
@Suite("Kafka consumer group", .serialized)
struct KafkaConsumerGroupTests {
    @Test("two members split the partitions; when one leaves, the other resumes its partitions from the stored offsets")
    func membersSplitAndTakeOverFromStoredOffsets() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: KafkaTestSupport.logger("mock"))
        let topic = "group.v1"
        let partitions = (0..<6).map { TopicPartition(topic: topic, partition: Int32($0)) }
        try cluster.createTopic(topic, partitions: 6)
        let configuration = KafkaTestSupport.configuration(cluster, group: "split")
        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.logger("producer"))
        func produce(_ range: Range<Int>) async throws {
            let results = await producer.send(range.map { OutboundMessage(topic: topic, key: "key_\($0 % 50)", value: "\($0)") })
            for result in results { _ = try result.get() }
        }

        let offsets = InMemoryOffsetStore()
        let first = try TestGroupMember(topics: [topic], configuration: configuration, offsets: offsets, name: "first")
        let second = try TestGroupMember(topics: [topic], configuration: configuration, offsets: offsets, name: "second")
        try await produce(0..<1_000)

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await first.run() }
            tasks.addTask { try await second.run() }
            try await KafkaTestSupport.eventually("both members to hold partitions") {
                let a = first.snapshot.assignment, b = second.snapshot.assignment
                return !a.isEmpty && !b.isEmpty && Set(a + b) == Set(partitions)
            }
            let firstPartitions = Set(first.snapshot.assignment)
            let secondPartitions = Set(second.snapshot.assignment)
            #expect(firstPartitions.isDisjoint(with: secondPartitions))
            try await KafkaTestSupport.eventually("the first 1 000 records") {
                first.snapshot.records.count + second.snapshot.records.count >= 1_000
            }

            // Where every partition stands before the first member leaves.
            let before = first.snapshot.records + second.snapshot.records
            var expectedStart: [TopicPartition: Int64] = [:]
            for record in before {
                let partition = TopicPartition(topic: record.topic, partition: record.partition)
                expectedStart[partition] = max(expectedStart[partition] ?? 0, record.offset + 1)
            }

            // The first member leaves; the second gets every partition back.
            first.group.close()
            try await KafkaTestSupport.eventually("the second member to hold all partitions") {
                Set(second.snapshot.assignment) == Set(partitions)
            }
            try await produce(1_000..<2_000)
            try await KafkaTestSupport.eventually("all 2 000 records") {
                first.snapshot.records.count + second.snapshot.records.count >= 2_000
            }
            // The takeover started the first member's partitions from the offsets it stored.
            let takeover = try #require(second.snapshot.startOffsets.last)
            for partition in firstPartitions {
                #expect(takeover[partition] == expectedStart[partition], "start offset of \(partition)")
            }
            #expect(first.snapshot.revocations.last.map(Set.init) == firstPartitions)
            second.group.close()
            try await tasks.waitForAll()
        }

        // Nothing lost, nothing twice.
        let all = first.snapshot.records + second.snapshot.records
        let values = all.compactMap(\.value).map { Int(String(decoding: $0, as: UTF8.self))! }
        #expect(values.count == 2_000)
        #expect(Set(values) == Set(0..<2_000))
        await producer.shutdown()
    }

    @Test("commit records the caller's offsets in Kafka")
    func commitStoresOffsetsInKafka() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: KafkaTestSupport.logger("mock"))
        let topic = "commit.v1"
        try cluster.createTopic(topic, partitions: 2)
        let configuration = KafkaTestSupport.configuration(cluster, group: "commit")
        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.logger("producer"))
        for result in await producer.send((0..<10).map { OutboundMessage(topic: topic, key: "k\($0)", value: "\($0)") }) {
            _ = try result.get()
        }
        await producer.shutdown()

        // A member that consumes 10 records and commits where it got, then leaves.
        let member = try TestGroupMember(
            topics: [topic], configuration: configuration, offsets: InMemoryOffsetStore(), name: "committer")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await member.run() }
            try await KafkaTestSupport.eventually("10 records") { member.snapshot.records.count >= 10 }
            try await member.group.commit(KafkaRecordBatch(records: member.snapshot.records).nextOffsets)
            member.group.close()
            try await tasks.waitForAll()
        }
        await #expect(throws: KafkaError.self) { try await member.group.commit([:]) }

        // A fresh member of the same group that ignores its assignment's answer slot starts from
        // Kafka's committed offsets: nothing to read.
        let again = try KafkaConsumerGroup(topics: [topic], configuration: configuration, logger: KafkaTestSupport.logger("again"))
        let sawRecords = KafkaLockedState(false)
        let assigned = KafkaLockedState(false)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await again.run() }
            tasks.addTask {
                for await event in again.events {
                    switch event {
                    case .records: sawRecords.withLock { $0 = true }
                    case .partitionsAssigned(let assignment): assigned.withLock { $0 = !assignment.partitions.isEmpty }
                    case .partitionsRevoked(let revocation): revocation.done()
                    }
                }
            }
            try await KafkaTestSupport.eventually("an assignment") { assigned.withLock { $0 } }
            // Give the fetcher time to deliver anything it would (it would be a bug).
            try await Task.sleep(for: .milliseconds(500))
            again.close()
            try await tasks.waitForAll()
        }
        #expect(sawRecords.withLock { $0 } == false)
    }
}
