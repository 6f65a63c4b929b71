import Consumers
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// An output topic that refuses writes for a while: nothing is marked sent that was not delivered,
/// and once the cluster accepts again every event goes out, in per-key order.
@Suite struct OutboxRefusalTests {
    @Test func refusedRowsStayPendingAndAreDeliveredOnceTheClusterAcceptsAgain() async throws {
        let logger = Logger(label: "assure.test.refusal")
        // A cluster of its own: injected produce errors must not reach other tests.
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        let topic = "refusal.out"
        try cluster.createTopic(topic, partitions: 2)
        let kafka = KafkaConfiguration(
            bootstrapServers: [cluster.bootstrapServers], clientID: "assure-test-relay", messageTimeoutMs: 5000,
            reconnectBackoffMaxMs: 200)
        try await PostgresTestServer.withFreshDatabase { database in
            let producer = try KafkaProducer(configuration: kafka, logger: logger)
            _ = try await producer.send(OutboundMessage(topic: topic, key: "warm", value: "up"))
            let relay = OutboxRelay(
                client: database.client, producer: producer, wakeup: WakeupSignal(),
                makeProducer: { try KafkaProducer(configuration: kafka, logger: logger) }, logger: logger)
            let messages = (0..<6).map { OutboundMessage(topic: topic, key: "k\($0 % 2)", value: "v\($0)") }
            try await database.client.withConnection { connection in
                try await OutboxRepository.append(messages, on: connection, logger: logger)
            }
            // The cluster refuses produce requests for good (an ACL), for a while.
            try cluster.pushRequestErrors(.produce, Array(repeating: KafkaError.Code(rawValue: 29), count: 4))
            _ = try await relay.relayOnce()
            let refused = try await database.client.query(
                "SELECT count(*)::bigint FROM assurance.outbox WHERE sent_at IS NULL AND refused_since IS NOT NULL AND refused_error IS NOT NULL"
            ).collect().first?.decode(Int64.self) ?? 0
            #expect(refused >= 1, "no row was recorded as refused")
            // Keep relaying (skipping the backoff) until the outbox is empty.
            var rounds = 0
            while try await database.client.withConnection({ try await OutboxRepository.backlog(on: $0, logger: logger) }) > 0 {
                rounds += 1
                try #require(rounds < 60, "the outbox never emptied")
                try await database.client.query("UPDATE assurance.outbox SET next_attempt_at = now() WHERE sent_at IS NULL")
                _ = try await relay.relayOnce()
                try await Task.sleep(for: .milliseconds(100))
            }
            await producer.shutdown()
            // Every event is on the topic; per key the last copy of each comes in outbox order.
            let collector = try TopicCollector(topics: [topic], bootstrapServers: cluster.bootstrapServers, logger: logger)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await collector.run() }
                let arrived = await collector.wait(timeout: .seconds(30)) { collector in
                    Set(collector.messages(on: topic).map { String(decoding: $0.value, as: UTF8.self) })
                        .isSuperset(of: (0..<6).map { "v\($0)" })
                }
                collector.close()
                try await tasks.waitForAll()
                #expect(arrived, "not every event arrived")
            }
            for key in ["k0", "k1"] {
                let values = collector.messages(on: topic).filter { $0.key == key }.map { String(decoding: $0.value, as: UTF8.self) }
                var lastIndex: [String: Int] = [:]
                for (index, value) in values.enumerated() { lastIndex[value] = index }
                let expected = (0..<6).filter { "k\($0 % 2)" == key }.map { "v\($0)" }
                let order = expected.compactMap { lastIndex[$0] }
                #expect(order == order.sorted(), "key \(key): \(values)")
            }
        }
    }
}
