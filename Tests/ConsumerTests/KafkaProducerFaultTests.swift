import Foundation
import Shared
import Testing

@testable import Consumers

/// The producer against injected broker errors and outages of the in-process mock cluster.
@Suite("Kafka producer faults", .serialized)
struct KafkaProducerFaultTests {
    let cluster: MockKafkaCluster

    init() throws {
        cluster = try MockKafkaCluster(brokers: 3, logger: KafkaTestSupport.logger("mock"))
    }

    /// Per partition, the delivered offsets are 0, 1, 2, … without gaps or duplicates.
    private func expectContiguousOffsets(_ reports: [KafkaDeliveryReport]) {
        let byPartition = Dictionary(grouping: reports, by: \.partition)
        for (partition, delivered) in byPartition {
            let offsets = delivered.map(\.offset).sorted()
            #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition)")
        }
    }

    @Test("retriable produce errors are retried until every message is delivered exactly once")
    func ridesOutRetriableErrors() async throws {
        let topic = "faults.retriable"
        try cluster.createTopic(topic, partitions: 3)
        let producer = try KafkaProducer(
            configuration: KafkaTestSupport.configuration(cluster), logger: KafkaTestSupport.logger("producer"))
        // Warm up (metadata, producer id) so the injected errors hit produce requests.
        _ = try await producer.send(OutboundMessage(topic: topic, key: "warm", value: "up", partition: 0))
        try cluster.pushRequestErrors(
            .produce,
            [.notLeaderForPartition, .requestTimedOut, .notEnoughReplicas, .leaderNotAvailable, .notEnoughReplicas])

        let results = await producer.send((0..<300).map { OutboundMessage(topic: topic, key: "k\($0 % 7)", value: "\($0)") })
        let reports = try results.map { try $0.get() }
        #expect(reports.count == 300)
        // Partition 0 also holds the warm-up message at offset 0.
        let partition0 = reports.filter { $0.partition == 0 }.map(\.offset).sorted()
        #expect(partition0 == Array(1..<Int64(partition0.count + 1)))
        let others = reports.filter { $0.partition != 0 }
        expectContiguousOffsets(others)
        await producer.shutdown()
    }

    @Test("messages sent while their leader is down are delivered once it is back")
    func ridesOutBrokerOutage() async throws {
        let topic = "faults.outage"
        try cluster.createTopic(topic, partitions: 3)
        for partition in 0..<3 {
            try cluster.setPartitionLeader(topic: topic, partition: Int32(partition), brokerID: Int32(partition + 1))
        }
        let producer = try KafkaProducer(
            configuration: KafkaTestSupport.configuration(cluster), logger: KafkaTestSupport.logger("producer"))
        _ = try await producer.send(OutboundMessage(topic: topic, key: "warm", value: "up", partition: 1))

        try cluster.setBrokerDown(2)
        let pending = Task {
            await producer.send((0..<90).map { OutboundMessage(topic: topic, key: "k\($0)", value: "\($0)", partition: Int32($0 % 3)) })
        }
        // The outage: messages for partition 1 wait while its leader (broker 2) is down.
        try await Task.sleep(for: .seconds(2))
        try cluster.setBrokerUp(2)
        let results = await pending.value
        let reports = try results.map { try $0.get() }
        #expect(reports.filter { $0.partition == 1 }.count == 30)
        #expect(reports.filter { $0.partition == 1 }.map(\.offset).sorted() == Array(1...30))
        await producer.shutdown()
    }

    @Test("a message that cannot be delivered within message.timeout.ms fails with messageTimedOut")
    func reportsUndeliverableMessagesAsErrors() async throws {
        let topic = "faults.timeout"
        try cluster.createTopic(topic, partitions: 1)
        try cluster.setPartitionLeader(topic: topic, partition: 0, brokerID: 3)
        var configuration = KafkaTestSupport.configuration(cluster)
        configuration.messageTimeoutMs = 1_500
        let producer = try KafkaProducer(configuration: configuration, logger: KafkaTestSupport.logger("producer"))

        try cluster.setBrokerDown(3)
        defer { try? cluster.setBrokerUp(3) }
        let started = ContinuousClock.now
        let error = await #expect(throws: KafkaError.self) {
            try await producer.send(OutboundMessage(topic: topic, key: "k", value: "lost", partition: 0))
        }
        #expect(error?.code == .messageTimedOut)
        #expect(error?.isRetriable == true)
        #expect(ContinuousClock.now - started < .seconds(10))
        try cluster.setBrokerUp(3)
        await producer.shutdown()
    }
}
