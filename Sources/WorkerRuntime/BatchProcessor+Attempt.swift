import CheckPipeline
import Consumers
import Logging
import Persistence
import PostgresNIO
import Shared

/// One attempt at a batch, the three ways `run` makes it: optimistic (prepare, then commit at once),
/// prepared (the commit of a batch `BatchPipeline` prepared while the one before committed) and
/// locked (the redo: the whole batch in one transaction, every state locked).
extension BatchProcessor {
    enum Attempt: Sendable {
        case optimistic
        case prepared(PreparedBatch)
        case locked
    }

    /// A batch run through the pipeline, waiting for its transaction.
    struct PreparedBatch: Sendable {
        let records: [InboundRecord]
        /// The lowest offset of each partition in the batch: the stored offsets must not be past it.
        let firstOffsets: [TopicPartition: Int64]
        let effects: BatchEffects
        let write: EntityStateWrite
        /// Processing time the batch was applied at.
        let nowMs: Int64
        /// The watermark after the batch, for the next `prepare`.
        var watermarkMs: Int64 { effects.watermarkMs }
    }

    /// The prepared batch's records were partly processed already (a redelivery or a rebalance came
    /// between prepare and commit): the batch is redone locked, behind the offset fence.
    struct PreparedBatchFenced: Error, CustomStringConvertible {
        var description: String { "records of the prepared batch were processed already" }
    }

    /// Makes one attempt at `records`: the data records in one transaction, then each command in its own.
    func attempt(_ records: [InboundRecord], _ attempt: Attempt) async throws -> Summary {
        let started = ContinuousClock.now
        var summary = Summary()
        switch attempt {
        case .prepared(let batch):
            summary = try await commit(batch)
        case .optimistic, .locked:
            let commandTopic = settings.topics.commands
            let data = records.filter { $0.topic != commandTopic }
            if !data.isEmpty {
                if case .locked = attempt {
                    summary = try await commitLocked(data)
                } else {
                    let batch = try await prepare(data, watermarkMs: Int64.min)
                    summary = try await commit(batch)
                    states.committed(batch.write)
                }
            }
            for command in records where command.topic == commandTopic {
                if try await commands.process(command) { summary.commands += 1 }
            }
        }
        summary.records = records.count
        let elapsed = ContinuousClock.now - started
        metrics.batch(
            size: records.count,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return summary
    }

    /// Decodes `records` (data only) and runs them through the pipeline on states from the cache or
    /// read without locks, outside any transaction.
    ///
    /// `watermarkMs` is the watermark after the batch before (its offsets may not be stored yet).
    /// `BatchPipeline` stores the result's states in the cache before they commit, so that the next
    /// `prepare` can build on them; if the commit then fails, the cache is emptied and both batches redone.
    func prepare(_ records: [InboundRecord], watermarkMs: Int64) async throws -> PreparedBatch {
        let nowMs = clock()
        var lap = PhaseLap()
        let decoded = try decode(records, nowMs: nowMs)
        lap.end(.decode)
        let usable = Self.records(of: decoded)
        lap.end(.collectKeys)
        let (read, storedWatermark, inputs) = try await client.withConnection { connection in
            let read = try await states.read(touchedBy: usable, .optimistic, on: connection, logger: logger)
            var readLap = PhaseLap()
            let watermark = try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger)
            let inputs = try await InputHealth.clock(on: connection, logger: logger)
            readLap.end(.lockStates)
            return (read, watermark, inputs)
        }
        return try apply(
            records, decoded, on: read, watermarkMs: max(watermarkMs, storedWatermark ?? Int64.min), nowMs: nowMs,
            inputs: inputs)
    }

    /// The CPU half shared by both ways: the pipeline over `decoded` on `read`, and the states' write.
    private func apply(
        _ records: [InboundRecord], _ decoded: [(record: InboundRecord, outcome: DecodeOutcome)], on read: EntityStates,
        watermarkMs: Int64, nowMs: Int64, inputs: InputClock
    ) throws -> PreparedBatch {
        var lap = PhaseLap()
        let effects = try apply(decoded, store: read.store, watermarkMs: watermarkMs, nowMs: nowMs, inputs: inputs)
        lap.end(.pipeline)
        var firstOffsets: [TopicPartition: Int64] = [:]
        for record in records {
            let partition = TopicPartition(topic: record.topic, partition: record.partition)
            firstOffsets[partition] = min(firstOffsets[partition] ?? record.offset, record.offset)
        }
        let write = states.encode(read)
        lap.end(.encodeStates)
        return PreparedBatch(
            records: records, firstOffsets: firstOffsets, effects: effects,
            write: write, nowMs: nowMs)
    }

    /// The prepared batch's transaction: the offset fence, the versioned state write, the issue rows,
    /// the outbox and the offsets. Throws `PreparedBatchFenced` or a `VersionConflict` (among others)
    /// when the prepared result cannot be committed as it is.
    func commit(_ batch: PreparedBatch) async throws -> Summary {
        var lap = PhaseLap()
        let written = try await client.withTransaction(logger: logger) { connection in
            try await EntityStateRepository.preferIndexLookups(on: connection, logger: logger)
            lap.end(.begin)
            let stored = try await OffsetRepository.lockForBatch(
                group: settings.groupId, partitions: Array(batch.firstOffsets.keys), on: connection, logger: logger)
            for (partition, first) in batch.firstOffsets where first < stored[partition] ?? 0 {
                throw PreparedBatchFenced()
            }
            lap.end(.lockOffsets)
            let written = try await write(batch, on: connection)
            lap.restart()
            return written
        }
        lap.end(.commit)
        return await committed(batch, written)
    }

    /// The whole batch in one transaction with every state locked: records an earlier owner of the
    /// partition processed already are dropped behind the offset fence, and nothing can conflict but
    /// a deadlock. The cache is refreshed with the states written once they commit.
    func commitLocked(_ records: [InboundRecord]) async throws -> Summary {
        let nowMs = clock()
        var lap = PhaseLap()
        let decoded = try decode(records, nowMs: nowMs)
        let partitions = Array(Set(records.map { TopicPartition(topic: $0.topic, partition: $0.partition) }))
        lap.end(.decode)
        let (batch, written) = try await client.withTransaction(logger: logger) { connection in
            try await EntityStateRepository.preferIndexLookups(on: connection, logger: logger)
            lap.end(.begin)
            let stored = try await OffsetRepository.lockForBatch(
                group: settings.groupId, partitions: partitions, on: connection, logger: logger)
            lap.end(.lockOffsets)
            var fenced = 0
            let fresh = decoded.filter { entry in
                let partition = TopicPartition(topic: entry.record.topic, partition: entry.record.partition)
                guard entry.record.offset >= stored[partition] ?? 0 else {
                    fenced += 1
                    return false
                }
                return true
            }
            let usable = Self.records(of: fresh)
            lap.end(.collectKeys)
            let read = try await states.read(touchedBy: usable, .locked, on: connection, logger: logger)
            lap.restart()
            let watermark =
                try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger) ?? Int64.min
            let inputs = try await InputHealth.clock(on: connection, logger: logger)
            lap.end(.lockStates)
            let batch = try apply(records, fresh, on: read, watermarkMs: watermark, nowMs: nowMs, inputs: inputs)
            var written = try await write(batch, on: connection)
            written.summary.fenced = fenced
            lap.restart()
            return (batch, written)
        }
        lap.end(.commit)
        states.committed(batch.write)
        return await committed(batch, written)
    }

    /// Writes a batch's states, issue rows, outbox, offsets and the report's counts in its transaction.
    private func write(_ batch: PreparedBatch, on connection: PostgresConnection) async throws
        -> (summary: Summary, events: [IssueEvent])
    {
        var lap = PhaseLap()
        try await states.write(batch.write, on: connection, logger: logger)
        lap.end(.saveStates)
        let events = try await write(batch.effects, on: connection)
        lap.restart()
        // Last: the counter row stays locked until the commit.
        try await states.count(
            batch.write, shard: EntityStateAccess.countShard(of: batch.firstOffsets.keys), on: connection,
            logger: logger)
        lap.end(.saveStates)
        var summary = batch.effects.summary
        summary.issueEvents = events.count
        return (summary, events)
    }

    /// After a batch's commit: its waiters and metrics.
    private func committed(_ batch: PreparedBatch, _ written: (summary: Summary, events: [IssueEvent])) async
        -> Summary
    {
        var lap = PhaseLap()
        await inputHealth.recordWaiters(batch.effects.waiters, sinceMs: batch.nowMs)
        recordMetrics(batch.records, events: written.events)
        lap.end(.metrics)
        return written.summary
    }
}
