import Shared

/// What decoding one inbound record gave.
public enum DecodeOutcome: Sendable, Hashable {
    /// A usable record.
    case record(BillingRecord)
    /// Counted and skipped, never fatal: a tombstone or a Debezium delete.
    case skipped(SkipReason)
    /// Unusable; the reason is human-readable and goes into the dead letter.
    case invalid(String)
}

/// Why a record was skipped.
public enum SkipReason: String, Sendable, Hashable, CaseIterable {
    /// A null Kafka value (or a Debezium `{"schema":…,"payload":null}`).
    case tombstone
    /// A Debezium change event with `op: "d"`.
    case delete
    /// A Stripe event of a type the checks do not read.
    case otherStripeType = "stripe_event_type"
}

/// The kind of input record a topic carries.
public enum RecordKind: String, Sendable, Hashable, CaseIterable {
    case ledger, account, webhook, planGate, stripe
}
