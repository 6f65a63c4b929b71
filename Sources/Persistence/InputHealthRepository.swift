import Logging
import PostgresNIO

/// Input health, shared by every worker: when each input last delivered a record (wall time), its
/// recent silences, what waits on it, and whether its stall issue is open (`assurance.input_health`).
///
/// - Important: Deliveries and waiters are written in statements of their own, outside the batch
///   transactions, so that the workers' batches never queue on these few hot rows.
public enum InputHealthRepository {
    /// Silences kept per input (oldest dropped first).
    public static let keptSilences = 16

    /// One input's row.
    public struct Row: Sendable, Hashable {
        public var input: String
        public var lastDeliveredMs: Int64?
        public var silences: [(fromMs: Int64, resumedAtMs: Int64)]
        public var waitingSinceMs: Int64?
        public var stallOpen: Bool

        public static func == (lhs: Row, rhs: Row) -> Bool {
            lhs.input == rhs.input && lhs.lastDeliveredMs == rhs.lastDeliveredMs
                && lhs.silences.map(\.fromMs) == rhs.silences.map(\.fromMs)
                && lhs.silences.map(\.resumedAtMs) == rhs.silences.map(\.resumedAtMs)
                && lhs.waitingSinceMs == rhs.waitingSinceMs && lhs.stallOpen == rhs.stallOpen
        }
        public func hash(into hasher: inout Hasher) { hasher.combine(input) }
    }

    /// Records that `inputs` delivered at `atMs`: a silence longer than `silenceMs` since the last
    /// delivery (the first delivery ends one that began at time 0) is remembered, and every waiter
    /// from before `atMs` is released.
    public static func recordDelivery(
        inputs: [String], atMs: Int64, silenceMs: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !inputs.isEmpty else { return }
        // Keeps the last `keptSilences` (16): the new array has cardinality + 1 elements.
        try await connection.query(
            """
            INSERT INTO assurance.input_health AS h (input, last_delivered_ms)
            SELECT i, \(atMs) FROM unnest(\(inputs)::text[]) AS u(i)
            ON CONFLICT (input) DO UPDATE SET
              silence_from = CASE WHEN \(atMs) - coalesce(h.last_delivered_ms, 0) > \(silenceMs)
                THEN (h.silence_from || coalesce(h.last_delivered_ms, 0))[greatest(1, cardinality(h.silence_from) - 14):]
                ELSE h.silence_from END,
              silence_to = CASE WHEN \(atMs) - coalesce(h.last_delivered_ms, 0) > \(silenceMs)
                THEN (h.silence_to || \(atMs)::bigint)[greatest(1, cardinality(h.silence_to) - 14):]
                ELSE h.silence_to END,
              last_delivered_ms = greatest(h.last_delivered_ms, \(atMs)),
              waiting_since_ms = CASE WHEN h.waiting_since_ms < \(atMs) THEN NULL ELSE h.waiting_since_ms END
            """, logger: logger)
    }

    /// Records that records applied at `sinceMs` wait on `inputs` (unless those delivered since).
    public static func recordWaiters(
        inputs: [String], sinceMs: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard !inputs.isEmpty else { return }
        try await connection.query(
            """
            INSERT INTO assurance.input_health AS h (input, waiting_since_ms)
            SELECT i, \(sinceMs) FROM unnest(\(inputs)::text[]) AS u(i)
            ON CONFLICT (input) DO UPDATE SET waiting_since_ms = least(h.waiting_since_ms, EXCLUDED.waiting_since_ms)
            WHERE h.last_delivered_ms IS NULL OR h.last_delivered_ms <= EXCLUDED.waiting_since_ms
            """, logger: logger)
    }

    /// Every input's row; `locking` takes the rows' locks for the rest of the transaction.
    public static func load(locking: Bool = false, on connection: PostgresConnection, logger: Logger) async throws
        -> [Row]
    {
        let sql = """
            SELECT input, last_delivered_ms, silence_from, silence_to, waiting_since_ms, stall_open
            FROM assurance.input_health ORDER BY input
            """ + (locking ? " FOR UPDATE" : "")
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        var result: [Row] = []
        for try await (input, last, from, to, waiting, open) in rows.decode(
            (String, Int64?, [Int64], [Int64], Int64?, Bool).self)
        {
            result.append(
                Row(
                    input: input, lastDeliveredMs: last,
                    silences: zip(from, to).map { (fromMs: $0.0, resumedAtMs: $0.1) },
                    waitingSinceMs: waiting, stallOpen: open))
        }
        return result
    }

    /// Marks the stall issue of `input` open or closed.
    public static func setStallOpen(
        _ open: Bool, input: String, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            "UPDATE assurance.input_health SET stall_open = \(open) WHERE input = \(input)", logger: logger)
    }
}
