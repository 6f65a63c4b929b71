import Logging
import PostgresNIO

extension EntityStateRepository {
    /// What the report counts over the stored states, from the counters migration 8's triggers keep.
    public struct Counts: Sendable, Hashable {
        /// Users with a stored state.
        public var users: Int64
        /// Stripe customers with events that no user names.
        public var unmappedStripeCustomers: Int64
    }

    /// The counts, summed over the counter shards (a few rows, whatever the number of states).
    public static func counts(on connection: PostgresConnection, logger: Logger) async throws -> Counts {
        let rows = try await connection.query(
            """
            SELECT coalesce(sum(n) FILTER (WHERE category = 'user'), 0)::bigint,
                   coalesce(sum(n) FILTER (WHERE category = 'unmapped_stripe_customer'), 0)::bigint
            FROM assurance.entity_state_counts
            """, logger: logger)
        for try await (users, unmapped) in rows.decode((Int64, Int64).self) {
            return Counts(users: users, unmappedStripeCustomers: unmapped)
        }
        return Counts(users: 0, unmappedStripeCustomers: 0)
    }
}
