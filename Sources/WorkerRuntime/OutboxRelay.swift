import Consumers
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Shared

/// Publishes outbox rows (issue events, alerts, repair results, dead letters) and marks them sent.
///
/// One relay publishes at a time across the cluster (a transaction-scoped advisory lock), so rows go
/// out in outbox order, which is version order per issue; a row is marked sent only after its
/// delivery report, so delivery is at least once and nothing is lost when a worker dies.
public struct OutboxRelay: Service {
    /// Advisory lock id of the relay ("assure outbox" in ASCII, truncated).
    static let lockId: Int64 = 0x6173_7375_7265_6f62

    let client: PostgresClient
    let producer: KafkaProducer
    let wakeup: WakeupSignal
    let pollIntervalMs: Int64
    let batchSize: Int
    let logger: Logger
    let metrics = WorkerMetrics()

    public init(
        client: PostgresClient, producer: KafkaProducer, wakeup: WakeupSignal, pollIntervalMs: Int64 = 200,
        batchSize: Int = 2000, logger: Logger
    ) {
        self.client = client
        self.producer = producer
        self.wakeup = wakeup
        self.pollIntervalMs = pollIntervalMs
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let published = try await relayOnce()
                if published == 0 {
                    metrics.outboxBacklog(try await backlog())
                    await wakeup.wait(timeoutMs: pollIntervalMs)
                }
            } catch {
                logger.warning("Outbox relay round failed; retrying", metadata: ["assure.error": "\(String(reflecting: error))"])
                await wakeup.wait(timeoutMs: max(pollIntervalMs, 1000))
            }
        }
        // Drain what the last batches wrote before the producer and the database client stop.
        for _ in 0..<20 {
            guard let published = try? await relayOnce(), published > 0 else { break }
        }
    }

    func backlog() async throws -> Int64 {
        try await client.withConnection { connection in
            try await OutboxRepository.backlog(on: connection, logger: logger)
        }
    }

    /// Publishes one round of pending rows; returns how many were published (0 when another relay holds the lock).
    @discardableResult
    public func relayOnce() async throws -> Int {
        try await client.withTransaction(logger: logger) { connection in
            let locked = try await connection.query(
                "SELECT pg_try_advisory_xact_lock(\(Self.lockId))", logger: logger)
            var acquired = false
            for try await value in locked.decode(Bool.self) { acquired = value }
            guard acquired else { return 0 }
            let entries = try await OutboxRepository.pending(limit: batchSize, on: connection, logger: logger)
            guard !entries.isEmpty else { return 0 }
            let results = await producer.send(entries.map(\.message))
            // Mark only the delivered prefix, so the rest goes out again in order. A row the cluster refuses
            // for good (for example too large for the broker) is set aside with its error rather than
            // blocking every row behind it.
            var sent: [Int64] = []
            var refused: [(id: Int64, error: String)] = []
            for (entry, result) in zip(entries, results) {
                if case .failure(let error) = result {
                    guard !error.isRetriable, error.code != .messageTimedOut else {
                        logger.warning(
                            "Outbox row not delivered; it will be retried",
                            metadata: ["assure.outbox.id": "\(entry.id)", "assure.kafka.error": "\(error)"])
                        break
                    }
                    logger.error(
                        "Outbox row refused by the cluster; set aside in assurance.outbox with its error",
                        metadata: ["assure.outbox.id": "\(entry.id)", "assure.kafka.error": "\(error)"])
                    refused.append((entry.id, "\(error)"))
                }
                sent.append(entry.id)
            }
            try await OutboxRepository.markRefused(refused, on: connection, logger: logger)
            try await OutboxRepository.markSent(ids: sent, on: connection, logger: logger)
            var byTopic: [String: Int] = [:]
            for entry in entries.prefix(sent.count) { byTopic[entry.message.topic, default: 0] += 1 }
            for (topic, count) in byTopic { metrics.published(topic: topic, count: count) }
            return sent.count
        }
    }
}
