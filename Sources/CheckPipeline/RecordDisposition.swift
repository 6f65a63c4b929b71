/// What the pipeline did with one record.
public enum RecordDisposition: String, Sendable, Hashable, Codable {
    /// The record changed state (and may have emitted issue changes).
    case applied
    /// A ledger row whose seq is already taken for its user (redelivery, or another row id at
    /// the same seq): ignored entirely.
    case duplicateRow
    /// A ledger row with `seq < 1`: ignored.
    case invalidSeq
    /// An account snapshot with a version not above the applied one, or a gate older than the
    /// applied one (or the applied one again): ignored.
    case outdated
    /// A webhook record already seen.
    case duplicateWebhook
    /// A Stripe event whose id was applied before.
    case duplicateStripeEvent
}
