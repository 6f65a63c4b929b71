import Metrics
import Shared

/// The worker's metric names (snake_case, `_total` / `_seconds` suffixes) and handles.
public struct WorkerMetrics: Sendable {
    public init() {}

    public func recordsConsumed(topic: String, count: Int) {
        Counter(label: "assure_records_consumed_total", dimensions: [("topic", topic)]).increment(by: count)
    }

    public func deadLetters(topic: String, count: Int) {
        Counter(label: "assure_dead_letters_total", dimensions: [("topic", topic)]).increment(by: count)
    }

    public func skipped(reason: String, count: Int) {
        Counter(label: "assure_records_skipped_total", dimensions: [("reason", reason)]).increment(by: count)
    }

    public func batch(size: Int, seconds: Double) {
        Recorder(label: "assure_batch_size_records").record(size)
        Timer(label: "assure_batch_duration_seconds").recordSeconds(seconds)
    }

    public func issueEvents(_ events: some Sequence<(check: String, status: String)>) {
        for event in events {
            let name = event.status == "open" ? "assure_issues_opened_total" : "assure_issues_resolved_total"
            Counter(label: name, dimensions: [("check", event.check)]).increment()
        }
    }

    public func outboxBacklog(_ rows: Int64) {
        Gauge(label: "assure_outbox_backlog_rows").record(rows)
    }

    public func published(topic: String, count: Int) {
        Counter(label: "assure_messages_published_total", dimensions: [("topic", topic)]).increment(by: count)
    }

    /// A batch redone with locks because another writer changed a state it read.
    public func stateConflict() {
        Counter(label: "assure_state_conflicts_total").increment()
    }

    public func consumerLag(topic: String, partition: Int32, lag: Int64) {
        Self.lagGauge(topic: topic, partition: partition).record(lag)
    }

    /// Drops the lag gauges of partitions this worker no longer owns (revoked in a rebalance, or left
    /// behind at shutdown), so dashboards do not show their last lag forever.
    public func removeConsumerLag(_ partitions: [TopicPartition]) {
        for partition in partitions { Self.lagGauge(topic: partition.topic, partition: partition.partition).destroy() }
    }

    private static func lagGauge(topic: String, partition: Int32) -> Gauge {
        Gauge(label: "assure_consumer_lag_records", dimensions: [("topic", topic), ("partition", String(partition))])
    }
}

extension WorkerMetrics {
    public func alert(emitted: Bool) {
        Counter(label: emitted ? "assure_alerts_emitted_total" : "assure_alerts_suppressed_total").increment()
    }
}

extension WorkerMetrics {
    /// A batch PostgreSQL refused for a deterministic reason (it is then split to find the record at fault).
    public func failedBatch() {
        Counter(label: "assure_batches_failed_total").increment()
    }

    /// An input record PostgreSQL refused, dead-lettered with the database's reason.
    public func poisonRecord(topic: String) {
        Counter(label: "assure_poison_records_total", dimensions: [("topic", topic)]).increment()
    }

    /// An output message the broker refused; it stays in the outbox and is retried.
    public func refusedDelivery(topic: String) {
        Counter(label: "assure_deliveries_refused_total", dimensions: [("topic", topic)]).increment()
    }
}
