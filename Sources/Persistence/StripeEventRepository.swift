import Logging
import PostgresNIO
import Shared

/// The Stripe events the checks applied (`assurance.stripe_events`): one row per customer and event id.
public enum StripeEventRepository {
    /// Records applied events; an event already recorded is left as it is.
    public static func insert(_ events: [StripeEvent], on connection: PostgresConnection, logger: Logger) async throws {
        guard !events.isEmpty else { return }
        let customers = events.map(\.customerId)
        let ids = events.map(\.id)
        let types = events.map(\.type.rawValue)
        let created = events.map(\.createdMs)
        let objects = events.map(\.objectId)
        // PostgresNIO binds no arrays of optionals: absent values travel as sentinels (an empty string
        // is stored as absent too; none of these fields means anything empty).
        let statuses = events.map { $0.status ?? "" }
        let subscriptions = events.map { $0.subscriptionId ?? "" }
        let reasons = events.map { $0.billingReason ?? "" }
        let amounts = events.map { $0.amountPaid ?? Int64.min }
        let currencies = events.map { $0.currency ?? "" }
        try await connection.query(
            """
            INSERT INTO assurance.stripe_events
              (customer_id, event_id, type, created_at, object_id, status, subscription_id, billing_reason,
               amount_paid, currency)
            SELECT c, i, t, to_timestamp(m / 1000.0), o, NULLIF(s, ''), NULLIF(b, ''),
                   NULLIF(r, ''), NULLIF(a, -9223372036854775808), NULLIF(u, '')
            FROM unnest(\(customers)::text[], \(ids)::text[], \(types)::text[], \(created)::bigint[],
                        \(objects)::text[], \(statuses)::text[], \(subscriptions)::text[], \(reasons)::text[],
                        \(amounts)::bigint[], \(currencies)::text[]) AS e(c, i, t, m, o, s, b, r, a, u)
            ON CONFLICT (customer_id, event_id) DO NOTHING
            """, logger: logger)
    }
}

extension StripeEventRepository {
    private static let columns =
        "customer_id, event_id, type, (extract(epoch FROM created_at) * 1000)::bigint AS created_ms, object_id, "
        + "status, subscription_id, billing_reason, amount_paid, currency"

    /// The recorded events of one customer, oldest first (by `created`, then event id): the `limit`
    /// newest ones.
    public static func events(ofCustomer customerId: String, limit: Int, on connection: PostgresConnection, logger: Logger)
        async throws -> [StripeEvent]
    {
        let rows = try await connection.query(
            """
            SELECT * FROM (
              SELECT \(unescaped: columns) FROM assurance.stripe_events WHERE customer_id = \(customerId)
              ORDER BY created_at DESC, event_id DESC LIMIT \(limit)
            ) AS newest ORDER BY created_ms, event_id
            """, logger: logger)
        return try await decode(rows)
    }

    /// Every recorded event in the order applied (for the audit).
    public static func all(on connection: PostgresConnection, logger: Logger) async throws -> [StripeEvent] {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM assurance.stripe_events ORDER BY seq", logger: logger)
        return try await decode(rows)
    }

    private static func decode(_ rows: PostgresRowSequence) async throws -> [StripeEvent] {
        var events: [StripeEvent] = []
        for try await row in rows {
            let (customer, id, type, created, object, status, subscription, reason, amount, currency) = try row.decode(
                (String, String, String, Int64, String, String?, String?, String?, Int64?, String?).self)
            guard let kind = StripeEvent.Kind(rawValue: type) else { continue }
            events.append(
                StripeEvent(
                    id: id, type: kind, createdMs: created, customerId: customer, objectId: object, status: status,
                    subscriptionId: subscription, billingReason: reason, amountPaid: amount, currency: currency))
        }
        return events
    }
}
