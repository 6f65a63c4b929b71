import Foundation
import Logging
import PostgresNIO
import Shared

/// One entry of a user's timeline: `{"at", "kind", "data"}`.
public struct TimelineEntry: Sendable, Hashable, Encodable {
    public enum Kind: String, Sendable, Hashable, Codable, Comparable {
        case account, command, issue, ledger, stripe, webhook
        public static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
    }

    public var atMs: Int64
    public var kind: Kind
    /// The record's own id (ties at the same time are ordered by kind, then by id).
    public var id: String
    /// The record as JSON text, as PostgreSQL built it (passed through to the answer as it is).
    public var dataJSON: String

    public init(atMs: Int64, kind: Kind, id: String, dataJSON: String) {
        self.atMs = atMs
        self.kind = kind
        self.id = id
        self.dataJSON = dataJSON
    }

    /// The record, decoded.
    public var data: JSONValue {
        get throws { try JSONDecoder().decode(JSONValue.self, from: Data(dataJSON.utf8)) }
    }

    /// Timeline order: time, then kind, then id.
    public static func precedes(_ a: TimelineEntry, _ b: TimelineEntry) -> Bool {
        (a.atMs, a.kind.rawValue, a.id) < (b.atMs, b.kind.rawValue, b.id)
    }

    enum CodingKeys: String, CodingKey { case at, kind, data }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Timestamp.format(atMs), forKey: .at)
        try c.encode(kind, forKey: .kind)
        try c.encode(try data, forKey: .data)
    }

    /// `{"at", "kind", "data"}` written directly, `data` as stored: decoding every record into a
    /// `JSONValue` and encoding it again was most of a long timeline's cost.
    public func appendJSON(to out: inout String) {
        out += #"{"at":""#
        out += Timestamp.format(atMs)
        out += #"","kind":""#
        out += kind.rawValue
        out += #"","data":"#
        out += dataJSON
        out += "}"
    }
}

/// What is known about one user, merged from the billing tables and the worker's own tables.
///
/// Each source is read newest first through an index, at most `limit` rows, so a user with a long
/// ledger costs `limit` rows per source, not the whole ledger.
public enum TimelineRepository {
    /// The newest `limit` entries of the user, oldest first.
    public static func entries(
        userId: String, limit: Int, on connection: PostgresConnection, logger: Logger
    ) async throws -> [TimelineEntry] {
        // Rows stay JSON text: decoding them was the largest cost of a long timeline.
        var all: [TimelineEntry] = []
        func collect(_ kind: TimelineEntry.Kind, _ query: PostgresQuery) async throws {
            let rows = try await connection.query(query, logger: logger)
            for try await (id, at, data) in rows.decode((String, Int64, String).self) {
                all.append(TimelineEntry(atMs: at, kind: kind, id: id, dataJSON: data))
            }
        }
        try await collect(
            .ledger,
            """
            SELECT id, (extract(epoch from created_at) * 1000)::bigint,
              jsonb_build_object('id', id, 'userId', user_id, 'seq', seq, 'type', type, 'amount', amount,
                'balanceAfter', balance_after, 'stripeEventId', stripe_event_id,
                'stripePaymentIntentId', stripe_payment_intent_id, 'stripeInvoiceId', stripe_invoice_id,
                'reason', reason, 'actor', actor, 'commandId', command_id, 'createdAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
            FROM public.credit_transactions WHERE user_id = \(userId) AND created_at IS NOT NULL
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """)
        try await collect(
            .account,
            """
            SELECT id, (extract(epoch from updated_at) * 1000)::bigint,
              jsonb_build_object('source', 'users', 'userId', id, 'role', role, 'tier', tier, 'credits', credits,
                'unlimitedCredits', unlimited_credits, 'stripeCustomerId', stripe_customer_id,
                'stripeSubscriptionId', stripe_subscription_id, 'subscriptionStatus', subscription_status,
                'updatedAt', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'version', version)::text
            FROM public.users WHERE id = \(userId) AND updated_at IS NOT NULL
            """)
        try await collect(
            .account,
            """
            SELECT id, (extract(epoch from created_at) * 1000)::bigint,
              jsonb_build_object('source', 'subscription_audit', 'id', id, 'userId', user_id,
                'fromTier', from_tier, 'toTier', to_tier, 'reason', reason, 'actor', actor,
                'commandId', command_id, 'createdAt', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
            FROM public.subscription_audit WHERE user_id = \(userId) AND created_at IS NOT NULL
            ORDER BY created_at DESC, id DESC LIMIT \(limit)
            """)
        try await collect(
            .webhook,
            """
            SELECT w.event_id, (extract(epoch from w.processed_at) * 1000)::bigint,
              jsonb_build_object('eventId', w.event_id, 'type', w.type,
                'stripePaymentIntentId', w.stripe_payment_intent_id, 'stripeInvoiceId', w.stripe_invoice_id,
                'processedAt', to_char(w.processed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), 'source', w.source)::text
            FROM (
              -- The newest first, then the JSON of those only (a long ledger names thousands of events).
              SELECT * FROM public.stripe_webhook_events
              WHERE event_id IN (
                SELECT stripe_event_id FROM public.credit_transactions
                WHERE user_id = \(userId) AND stripe_event_id IS NOT NULL)
                AND processed_at IS NOT NULL
              ORDER BY processed_at DESC, event_id DESC LIMIT \(limit)) w
            ORDER BY w.processed_at DESC, w.event_id DESC
            """)
        try await collect(
            .issue,
            """
            SELECT e.issue_id || '#' || lpad(e.version::text, 19, '0'),
              (extract(epoch from coalesce((e.event->>'resolvedAt')::timestamptz,
                (e.event->>'lastSeenAt')::timestamptz)) * 1000)::bigint,
              e.event::text
            FROM assurance.issue_events e JOIN assurance.issues i ON i.issue_id = e.issue_id
            WHERE i.user_id = \(userId)
            ORDER BY 2 DESC, 1 DESC LIMIT \(limit)
            """)
        try await collect(
            .command,
            """
            SELECT p.command_id, (extract(epoch from coalesce((p.result->>'processedAt')::timestamptz,
                p.processed_at)) * 1000)::bigint,
              (p.result || jsonb_build_object('actor', p.actor, 'reason', p.reason))::text
            FROM assurance.processed_commands p JOIN assurance.issues i ON i.issue_id = p.issue_id
            WHERE i.user_id = \(userId)
            ORDER BY 2 DESC, 1 DESC LIMIT \(limit)
            """)
        // Stripe events of the user's current customer (`users.stripe_customer_id`), newest first.
        try await collect(
            .stripe,
            """
            SELECT e.event_id, (extract(epoch from e.created_at) * 1000)::bigint,
              jsonb_build_object('id', e.event_id, 'type', e.type, 'customer', e.customer_id,
                'created', (extract(epoch from e.created_at))::bigint, 'objectId', e.object_id, 'status', e.status,
                'subscriptionId', e.subscription_id, 'billingReason', e.billing_reason,
                'amountPaid', e.amount_paid, 'currency', e.currency)::text
            FROM assurance.stripe_events e
            WHERE e.customer_id = (SELECT stripe_customer_id FROM public.users WHERE id = \(userId))
            ORDER BY e.created_at DESC, e.event_id DESC LIMIT \(limit)
            """)
        all.sort(by: TimelineEntry.precedes)
        return Array(all.suffix(limit))
    }
}
