import Consumers
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The relay holds its lease, not a transaction, while it waits on Kafka: with the broker down, a
/// delivery stays outstanding, and the session holding the lease is idle, never `idle in transaction`.
@Suite struct OutboxLeaseTests {
    @Test func noTransactionStaysOpenWhileADeliveryIsOutstanding() async throws {
        let logger = Logger(label: "assure.test.lease")
        // A cluster of its own: taking its broker down must not reach other tests.
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        let topic = "lease.out"
        try cluster.createTopic(topic, partitions: 1)
        let kafka = KafkaConfiguration(
            bootstrapServers: [cluster.bootstrapServers], clientID: "assure-test-lease", messageTimeoutMs: 60_000,
            reconnectBackoffMaxMs: 200)
        try await PostgresTestServer.withFreshDatabase { database in
            let producer = try KafkaProducer(configuration: kafka, logger: logger)
            _ = try await producer.send(OutboundMessage(topic: topic, key: "warm", value: "up"))
            let relay = OutboxRelay(client: database.client, producer: producer, wakeup: WakeupSignal(), logger: logger)
            let messages = (0..<3).map { OutboundMessage(topic: topic, key: "k\($0)", value: "v\($0)") }
            try await database.client.withConnection { connection in
                try await OutboxRepository.append(messages, on: connection, logger: logger)
            }
            try cluster.setBrokerDown(1)
            try await withThrowingTaskGroup(of: Int.self) { group in
                group.addTask { try await relay.relayOnce() }
                // The lease is taken and the round is waiting on the broker: look at the sessions now.
                var leaseHolder: [String] = []
                let deadline = ContinuousClock.now + .seconds(30)
                while leaseHolder.isEmpty && ContinuousClock.now < deadline {
                    leaseHolder = try await Self.states(
                        of: "pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)", database.client)
                    if leaseHolder.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
                }
                try #require(!leaseHolder.isEmpty, "the relay never took its lease")
                // Several looks while the delivery is outstanding (the broker stays down throughout).
                for _ in 0..<10 {
                    let open = try await Self.states(of: "state LIKE 'idle in transaction%'", database.client)
                    #expect(open.isEmpty, "a session holds a transaction open: \(open)")
                    let holder = try await Self.states(
                        of: "pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)", database.client)
                    #expect(holder.allSatisfy { $0 == "idle" }, "the lease holder is \(holder)")
                    try await Task.sleep(for: .milliseconds(100))
                }
                let backlog = try await database.client.withConnection {
                    try await OutboxRepository.backlog(on: $0, logger: logger)
                }
                #expect(backlog == 3, "rows were marked while their delivery was outstanding")
                try cluster.setBrokerUp(1)
                let published = try await group.next() ?? 0
                #expect(published == 3)
            }
            let backlog = try await database.client.withConnection { try await OutboxRepository.backlog(on: $0, logger: logger) }
            #expect(backlog == 0)
            // The lease went back with the round.
            let held = try await Self.states(
                of: "pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)", database.client)
            #expect(held.isEmpty, "the lease outlived the round: \(held)")
            await producer.shutdown()
        }
    }

    /// A round that fails under the lease closes its connection: the lease is not left behind on a
    /// pooled connection, and the next round (of this relay or another) takes it again.
    @Test func aFailedRoundDropsTheLease() async throws {
        let logger = Logger(label: "assure.test.lease")
        let cluster = try MockKafkaCluster(brokers: 1, logger: logger)
        let topic = "lease.failed"
        try cluster.createTopic(topic, partitions: 1)
        let kafka = KafkaConfiguration(
            bootstrapServers: [cluster.bootstrapServers], clientID: "assure-test-lease", reconnectBackoffMaxMs: 200)
        try await PostgresTestServer.withFreshDatabase { database in
            let producer = try KafkaProducer(configuration: kafka, logger: logger)
            let relay = OutboxRelay(client: database.client, producer: producer, wakeup: WakeupSignal(), logger: logger)
            try await database.client.withConnection { connection in
                try await OutboxRepository.append(
                    [OutboundMessage(topic: topic, key: "k", value: "v")], on: connection, logger: logger)
            }
            // The read under the lease fails: the table is gone for a moment.
            try await database.client.query("ALTER TABLE assurance.outbox RENAME TO outbox_away")
            await #expect(throws: (any Error).self) { try await relay.relayOnce() }
            let leaseHolders = "pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
            var held = try await Self.states(of: leaseHolders, database.client)
            let deadline = ContinuousClock.now + .seconds(30)
            while !held.isEmpty && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                held = try await Self.states(of: leaseHolders, database.client)
            }
            #expect(held.isEmpty, "the lease outlived the failed round: \(held)")
            try await database.client.query("ALTER TABLE assurance.outbox_away RENAME TO outbox")
            let other = OutboxRelay(client: database.client, producer: producer, wakeup: WakeupSignal(), logger: logger)
            #expect(try await other.relayOnce() == 1)
            await producer.shutdown()
        }
    }

    /// The states of this database's other sessions that match `condition`.
    static func states(of condition: String, _ client: PostgresClient) async throws -> [String] {
        let rows = try await client.query(
            PostgresQuery(
                unsafeSQL: """
                    SELECT coalesce(state, '') FROM pg_stat_activity
                    WHERE datname = current_database() AND pid <> pg_backend_pid() AND (\(condition))
                    """))
        var states: [String] = []
        for try await state in rows.decode(String.self) { states.append(state) }
        return states
    }
}
