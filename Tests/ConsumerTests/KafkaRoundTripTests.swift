import Foundation
import Shared
import Testing

@testable import Consumers

/// Producer and consumer group together against the in-process mock cluster.
@Suite("Kafka round trip", .serialized)
struct KafkaRoundTripTests {
    @Test("10 000 keyed messages are all consumed, in order per key, with their headers")
    func tenThousandKeyedMessagesArriveInOrderPerKey() async throws {
        let cluster = try MockKafkaCluster(brokers: 3, logger: KafkaTestSupport.logger("mock"))
        let topic = "roundtrip.v1"
        try cluster.createTopic(topic, partitions: 6)
        let configuration = KafkaTestSupport.configuration(cluster, group: "roundtrip")

        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.logger("producer"))
        let keys = (0..<100).map { "user_\($0)" }
        let messages = (0..<10_000).map { index in
            OutboundMessage(
                topic: topic, key: keys[index % keys.count], value: "\(index)",
                headers: [RecordHeader(name: "seq", value: Array("\(index / keys.count)".utf8))])
        }
        let results = await producer.send(messages)
        let failures = results.filter { if case .failure = $0 { true } else { false } }
        #expect(failures.isEmpty, "delivery failures: \(failures.prefix(3))")
        await producer.shutdown()

        let member = try TestGroupMember(
            topics: [topic], configuration: configuration, offsets: InMemoryOffsetStore(), name: "member")
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await member.run() }
            try await KafkaTestSupport.eventually("10 000 records") { member.snapshot.records.count >= 10_000 }
            member.group.close()
            try await tasks.waitForAll()
        }

        let observed = member.snapshot
        #expect(observed.records.count == 10_000)
        #expect(Set(observed.records.compactMap(\.value).map { String(decoding: $0, as: UTF8.self) }).count == 10_000)
        var perKey: [String: [Int]] = [:]
        for record in observed.records {
            let index = Int(String(decoding: record.value ?? [], as: UTF8.self))!
            perKey[record.keyString ?? "", default: []].append(index)
            #expect(record.headers == [RecordHeader(name: "seq", value: Array("\(index / keys.count)".utf8))])
        }
        #expect(perKey.count == keys.count)
        for (key, indices) in perKey {
            #expect(indices == indices.sorted(), "order broken for \(key)")
        }
        // Leaving the group revoked everything it had.
        #expect(observed.revocations.last.map(Set.init) == Set((0..<6).map { TopicPartition(topic: topic, partition: $0) }))
    }
}
