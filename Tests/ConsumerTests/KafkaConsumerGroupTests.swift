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

    @Test("a member resumes from the offsets its caller stored; the group commits nothing to Kafka")
    func resumesFromStoredOffsetsAndNeverCommits() async throws {
        let cluster = try MockKafkaCluster(brokers: 1, logger: KafkaTestSupport.logger("mock"))
        let topic = "commit.v1"
        try cluster.createTopic(topic, partitions: 2)
        let configuration = KafkaTestSupport.configuration(cluster, group: "commit")
        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.logger("producer"))
        func produce(_ range: Range<Int>) async throws {
            for result in await producer.send(range.map { OutboundMessage(topic: topic, key: "k\($0)", value: "\($0)") }) {
                _ = try result.get()
            }
        }
        func values(_ member: TestGroupMember) -> [Int] {
            member.snapshot.records.compactMap(\.value).map { Int(String(decoding: $0, as: UTF8.self))! }
        }
        try await produce(0..<10)

        // A member consumes 10 records, stores where it got (as the worker does, outside Kafka), and leaves.
        let stored = InMemoryOffsetStore()
        let first = try TestGroupMember(topics: [topic], configuration: configuration, offsets: stored, name: "first")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await first.run() }
            try await KafkaTestSupport.eventually("10 records") { first.snapshot.records.count >= 10 }
            first.group.close()
            try await tasks.waitForAll()
        }

        // The next member of the group starts from the stored offsets: it reads only what came after.
        let second = try TestGroupMember(topics: [topic], configuration: configuration, offsets: stored, name: "second")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await second.run() }
            try await KafkaTestSupport.eventually("an assignment") { !second.snapshot.assignment.isEmpty }
            try await produce(10..<15)
            try await KafkaTestSupport.eventually("5 records") { second.snapshot.records.count >= 5 }
            second.group.close()
            try await tasks.waitForAll()
        }
        #expect(second.snapshot.startOffsets.first?.values.reduce(0, +) == 10)
        #expect(values(second).sorted() == Array(10..<15))

        // A member that answers with no stored offsets starts from `auto.offset.reset` (earliest):
        // nothing was committed to Kafka, so it reads everything.
        let third = try TestGroupMember(
            topics: [topic], configuration: configuration, offsets: InMemoryOffsetStore(), name: "third")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await third.run() }
            try await KafkaTestSupport.eventually("15 records") { third.snapshot.records.count >= 15 }
            third.group.close()
            try await tasks.waitForAll()
        }
        #expect(values(third).sorted() == Array(0..<15))
        await producer.shutdown()
    }
}
