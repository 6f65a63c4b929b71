import Consumers
import Logging
import Persistence
import PostgresNIO
import Shared

/// Poison isolation, the `refusal` case of `BatchFailure`: a refused batch is split in halves until the
/// record at fault is found, which goes to the dead-letter topic with the database's reason, in a
/// transaction of its own, while the rest commits (exactly once, behind the offset fence).
extension BatchProcessor {
    /// Processes the halves of a refused batch in order, down to the single record at fault.
    func isolate(_ records: [InboundRecord], refusal: any Error) async throws -> Summary {
        guard records.count > 1 else {
            return try await deadLetterRefused(records[0], reason: DatabaseError.describe(refusal))
        }
        let middle = records.count / 2
        var summary = try await run(Array(records[..<middle]), first: .locked).summary
        summary += try await run(Array(records[middle...]), first: .locked).summary
        return summary
    }

    /// Dead-letters `record` with `reason` behind the offset fence and moves its partition past it.
    ///
    /// If even that is refused, the offset is stored alone, so that nothing can hold the partition (the
    /// record and the reason stay in the log). Transient failures are retried (`BatchFailure.retrying`).
    private func deadLetterRefused(_ record: InboundRecord, reason: String) async throws -> Summary {
        let nowMs = clock()
        let letter = DeadLetter.make(from: record, error: "refused by the database: \(reason)", receivedAtMs: nowMs)
        metrics.poisonRecord(topic: record.topic)
        logger.error(
            "Input record refused by the database; sent to the dead-letter topic",
            metadata: [
                "assure.kafka.topic": "\(record.topic)", "assure.kafka.partition": "\(record.partition)",
                "assure.kafka.offset": "\(record.offset)", "assure.dlq.reason": "\(reason)",
            ])
        var summary = Summary()
        summary.records = 1
        do {
            let message = letter.outboundMessage(topics: settings.topics, originalKey: record.key)
            if try await storePast(record, outbox: [message]) {
                summary.deadLetters = 1
                metrics.deadLetters(topic: record.topic, count: 1)
            } else {
                summary.fenced = 1
            }
        } catch where BatchFailure(error) == .refusal {
            logger.critical(
                "The dead letter of a refused record was refused too; moving past the record without it",
                metadata: ["assure.error": "\(DatabaseError.describe(error))", "assure.kafka.offset": "\(record.offset)"])
            if !(try await storePast(record, outbox: [])) { summary.fenced = 1 }
        }
        return summary
    }

    /// Stores the offset after `record` (with `outbox`), retrying transient failures; `false` when the
    /// partition was past it already.
    private func storePast(_ record: InboundRecord, outbox: [OutboundMessage]) async throws -> Bool {
        let partition = TopicPartition(topic: record.topic, partition: record.partition)
        let (client, settings, logger) = (self.client, self.settings, self.logger)
        return try await BatchFailure.retrying("Storing the offset past a refused record", logger: logger) {
            try await settings.databaseDeadline.run("the offset past a refused record") {
                try await client.withTransaction(logger: logger) { connection -> Bool in
                    let stored = try await OffsetRepository.lockForBatch(
                        group: settings.groupId, partitions: [partition], on: connection, logger: logger)
                    guard record.offset >= stored[partition] ?? 0 else { return false }
                    try await OutboxRepository.append(outbox, on: connection, logger: logger)
                    try await OffsetRepository.store(
                        group: settings.groupId,
                        positions: [.init(partition: partition, nextOffset: record.offset + 1, maxEventTimeMs: nil, deadLetters: 1)],
                        on: connection, logger: logger)
                    return true
                }
            }
        }
    }
}
