import Consumers
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Shared
import Synchronization

/// Publishes outbox rows (issue events, alerts, repair results, dead letters) and marks them sent.
///
/// One relay publishes at a time across the cluster: a round holds the outbox lease (a session-level
/// advisory lock on the connection it runs on), so rows go out in outbox order, which is version order
/// per issue; a row is marked sent only after its delivery report, so delivery is at least once and
/// nothing is lost when a worker dies.
///
/// No transaction stays open while the relay waits on Kafka: a round reads the due rows (one
/// statement), sends them with the connection idle, and marks what happened in one short
/// transaction. Each database step has its own `DatabaseDeadline`; a step that fails or expires closes
/// the round's connection, so the server drops the lease with the session.
///
/// No row is ever dropped: a row the cluster refuses (a missing topic, an ACL, a size limit, a fatal
/// producer error) stays pending and is tried again with backoff (`OutboxRepository.markRefused`),
/// holding back only the later rows of its topic and key. A fatal producer error replaces the
/// relay's producer with a new one.
public struct OutboxRelay: Service {
    let client: PostgresClient
    let producers: ProducerSlot
    let wakeup: WakeupSignal
    let pollIntervalMs: Int64
    let batchSize: Int
    /// A whole round, which waits on Kafka deliveries too (up to `message.timeout.ms`); it bounds the
    /// wait for a pooled connection, which PostgresNIO may leave hanging.
    let deadline: DatabaseDeadline
    /// One database step of a round (lease, read, mark, release).
    let stepDeadline: DatabaseDeadline
    let logger: Logger
    let metrics = WorkerMetrics()

    public init(
        client: PostgresClient, producer: KafkaProducer, wakeup: WakeupSignal, pollIntervalMs: Int64 = 200,
        batchSize: Int = 2000, makeProducer: (@Sendable () throws -> KafkaProducer)? = nil,
        deadline: DatabaseDeadline = DatabaseDeadline(.seconds(120)),
        stepDeadline: DatabaseDeadline = DatabaseDeadline(.seconds(30)), logger: Logger
    ) {
        self.deadline = deadline
        self.stepDeadline = stepDeadline
        self.client = client
        self.producers = ProducerSlot(producer, make: makeProducer, logger: logger)
        self.wakeup = wakeup
        self.pollIntervalMs = pollIntervalMs
        self.batchSize = batchSize
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let relay = self
                let published = try await deadline.run("an outbox relay round") { try await relay.relayOnce() }
                if published == 0 {
                    metrics.outboxBacklog(try await stepDeadline.run("the outbox backlog") { try await relay.backlog() })
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
        await producers.shutdownSpare()
    }

    func backlog() async throws -> Int64 {
        try await client.withConnection { connection in
            try await OutboxRepository.backlog(on: connection, logger: logger)
        }
    }

    /// Publishes one round of pending rows; returns how many were published (0 when another relay holds the lease).
    @discardableResult
    public func relayOnce() async throws -> Int {
        try await client.withConnection { connection in
            let logger = self.logger
            do {
                // Inside the `do`: a lease request whose answer was lost may have been granted.
                let leased = try await stepDeadline.run("taking the outbox lease") {
                    try await OutboxRepository.tryLease(on: connection, logger: logger)
                }
                guard leased else { return 0 }
                let published = try await publishRound(on: connection)
                try await stepDeadline.run("releasing the outbox lease") {
                    try await OutboxRepository.releaseLease(on: connection, logger: logger)
                }
                return published
            } catch {
                // Closing the session is the one sure way to drop the lease (the pool replaces the connection).
                try? await connection.close()
                throw error
            }
        }
    }

    /// One round under the lease: read the due rows, send them, mark what happened.
    private func publishRound(on connection: PostgresConnection) async throws -> Int {
        let (logger, batchSize) = (self.logger, self.batchSize)
        let entries = try await stepDeadline.run("reading pending outbox rows") {
            try await OutboxRepository.pending(limit: batchSize, on: connection, logger: logger)
        }
        guard !entries.isEmpty else { return 0 }
        let producer = producers.current
        // The connection is idle here (no transaction) for as long as the deliveries take.
        let results = await producer.send(entries.map(\.message))
        let outcome = sort(entries, results)
        if outcome.fatal { await producers.replace(producer) }
        try await stepDeadline.run("marking outbox rows") {
            try await OutboxRepository.mark(sent: outcome.sent, refused: outcome.refused, on: connection, logger: logger)
        }
        var byTopic: [String: Int] = [:]
        let sentIds = Set(outcome.sent)
        for entry in entries where sentIds.contains(entry.id) { byTopic[entry.message.topic, default: 0] += 1 }
        for (topic, count) in byTopic { metrics.published(topic: topic, count: count) }
        return outcome.sent.count
    }

    /// What a round's delivery reports mean for its rows.
    private struct Outcome {
        var sent: [Int64] = []
        var refused: [(id: Int64, error: String)] = []
        var fatal = false
    }

    /// Sorts delivered rows from refused ones. A row behind an undelivered row of the same topic and
    /// key is neither: it goes out again after it (at least once, in per-key order). Refused rows stay
    /// pending with their error and a backoff.
    private func sort(_ entries: [OutboxRepository.Entry], _ results: [Result<KafkaDeliveryReport, KafkaError>]) -> Outcome {
        var outcome = Outcome()
        var held = Set<HeldKey>()
        for (entry, result) in zip(entries, results) {
            let key = entry.message.key.map { HeldKey(topic: entry.message.topic, key: $0) }
            if let key, held.contains(key) { continue }
            guard case .failure(let error) = result else {
                outcome.sent.append(entry.id)
                continue
            }
            if let key { held.insert(key) }
            if error.isRetriable || error.code == .messageTimedOut {
                logger.warning(
                    "Outbox row not delivered; it will be retried",
                    metadata: ["assure.outbox.id": "\(entry.id)", "assure.kafka.error": "\(error)"])
                continue
            }
            outcome.fatal = outcome.fatal || error.isFatal || error.code == .fatal
            logger.error(
                "Outbox row refused by the cluster; it stays pending and is retried with backoff",
                metadata: ["assure.outbox.id": "\(entry.id)", "assure.kafka.error": "\(error)"])
            metrics.refusedDelivery(topic: entry.message.topic)
            outcome.refused.append((entry.id, String("\(error)".prefix(2000))))
        }
        return outcome
    }
}

/// A topic and key whose later rows wait for an undelivered row.
struct HeldKey: Hashable {
    var topic: String
    var key: [UInt8]
}

/// The relay's producer, replaced by a new one after a fatal error (an idempotent producer in a fatal
/// state refuses everything until recreated).
final class ProducerSlot: Sendable {
    private let slot: Mutex<KafkaProducer>
    private let original: KafkaProducer
    private let make: (@Sendable () throws -> KafkaProducer)?
    private let logger: Logger

    init(_ producer: KafkaProducer, make: (@Sendable () throws -> KafkaProducer)?, logger: Logger) {
        self.slot = Mutex(producer)
        self.original = producer
        self.make = make
        self.logger = logger
    }

    var current: KafkaProducer { slot.withLock { $0 } }

    /// Replaces `failed` (if it is still the current one) with a new producer.
    func replace(_ failed: KafkaProducer) async {
        guard let make else {
            logger.critical("Kafka producer in a fatal state and no way to recreate it")
            return
        }
        let fresh: KafkaProducer
        do {
            fresh = try make()
        } catch {
            logger.critical("Recreating the Kafka producer failed", metadata: ["assure.error": "\(error)"])
            return
        }
        let replaced = slot.withLock { current -> Bool in
            guard current === failed else { return false }
            current = fresh
            return true
        }
        guard replaced else {
            await fresh.shutdown(timeoutMs: 0)
            return
        }
        logger.warning("Kafka producer recreated after a fatal error")
        // The node's own producer is shut down with the node; a replaced spare is shut down here.
        if failed !== original { await failed.shutdown(timeoutMs: 1000) }
    }

    /// Shuts down a producer made here, when the relay stops.
    func shutdownSpare() async {
        let current = self.current
        if current !== original { await current.shutdown(timeoutMs: 5000) }
    }
}
