import CheckPipeline
import Consumers
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared

/// The two halves of a batch for `BatchPipeline`: `prepare` does the CPU work against the states the
/// batches before it will commit, `commit(_:)` is the transaction. One batch's `prepare` runs while
/// the previous batch's transaction is in PostgreSQL.
extension BatchProcessor {
    /// A batch run through the pipeline, waiting for its transaction.
    public struct PreparedBatch: Sendable {
        public let records: [InboundRecord]
        let partitions: [TopicPartition]
        /// The lowest offset of each partition in the batch: the stored offsets must not be past it.
        let firstOffsets: [TopicPartition: Int64]
        let effects: BatchEffects
        let write: EntityStateRepository.VersionedWrite
        /// The watermark after the batch, for the next `prepare`.
        public var watermarkMs: Int64 { effects.watermarkMs }
    }

    /// The prepared batch's records were partly processed already (a redelivery or a rebalance came
    /// between prepare and commit): the batch must go the sequential way, behind the offset fence.
    struct PreparedBatchFenced: Error, CustomStringConvertible {
        var description: String { "records of the prepared batch were processed already" }
    }

    /// Decodes `records` (data only), runs them through the pipeline on states from the cache or read
    /// without locks, and stores the resulting states in the cache before they are committed.
    ///
    /// `watermarkMs` is the watermark after the batch before (its offsets may not be stored yet). The
    /// next `prepare` may take this batch's states from the cache; if this batch's `commit` then
    /// fails, the caller must empty the cache and redo both batches.
    public func prepare(_ records: [InboundRecord], watermarkMs: Int64) async throws -> PreparedBatch {
        let nowMs = clock()
        var lap = PhaseLap(times: phaseTimes)
        let decoded = try decode(records, nowMs: nowMs)
        var firstOffsets: [TopicPartition: Int64] = [:]
        for record in records {
            let partition = TopicPartition(topic: record.topic, partition: record.partition)
            firstOffsets[partition] = min(firstOffsets[partition] ?? record.offset, record.offset)
        }
        lap.end(.decode)
        let keys = Self.stateKeys(of: decoded)
        lap.end(.collectKeys)
        let (states, storedWatermark) = try await client.withConnection { connection in
            var readLap = PhaseLap(times: phaseTimes)
            var states = try await codec.loadUnlocked(
                keys, cache: cache, on: connection, logger: logger, lap: &readLap)
            let dependent = IssuePipeline.dependentKeys(for: Self.records(of: decoded), store: states.store)
            if !dependent.isEmpty {
                states = states.adding(
                    try await codec.loadUnlocked(dependent, cache: cache, on: connection, logger: logger, lap: &readLap))
            }
            let watermark = try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger)
            readLap.end(.lockStates)
            return (states, watermark)
        }
        lap = PhaseLap(times: phaseTimes)
        let effects = try apply(
            decoded, store: states.store, watermarkMs: max(watermarkMs, storedWatermark ?? Int64.min), nowMs: nowMs)
        lap.end(.pipeline)
        let (write, after) = codec.versionedWrite(of: states)
        cache.store(after)
        lap.end(.encodeStates)
        return PreparedBatch(
            records: records, partitions: Array(firstOffsets.keys), firstOffsets: firstOffsets, effects: effects,
            write: write)
    }

    /// The prepared batch's transaction: the offset fence, the versioned state write, the issue rows,
    /// the outbox and the offsets. Throws `PreparedBatchFenced` or a `VersionConflict` (among others)
    /// when the prepared result cannot be committed as it is.
    public func commit(_ batch: PreparedBatch) async throws -> Summary {
        let started = ContinuousClock.now
        var lap = PhaseLap(times: phaseTimes)
        let (summary, events) = try await client.withTransaction(logger: logger) {
            connection -> (Summary, [IssueEvent]) in
            try await EntityStateRepository.preferIndexLookups(on: connection, logger: logger)
            lap.end(.begin)
            let stored = try await OffsetRepository.lockForBatch(
                group: settings.groupId, partitions: batch.partitions, on: connection, logger: logger)
            for (partition, first) in batch.firstOffsets where first < stored[partition] ?? 0 {
                throw PreparedBatchFenced()
            }
            lap.end(.lockOffsets)
            try await EntityStateRepository.writeIfUnchanged(batch.write, on: connection, logger: logger)
            lap.end(.saveStates)
            let events = try await write(batch.effects, on: connection, lap: &lap)
            var summary = batch.effects.summary
            summary.issueEvents = events.count
            summary.records = batch.records.count
            return (summary, events)
        }
        lap.end(.commit)
        recordMetrics(batch.records, events: events)
        let elapsed = ContinuousClock.now - started
        metrics.batch(
            size: batch.records.count,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        return summary
    }
}
