import CheckPipeline
import Logging
import PostgresNIO

/// The report's counts over the entity states (`StateCounts`), kept by the states' writers in
/// `assurance.state_counts` (migration 9): each transaction that changes them adds its delta to one
/// counter shard, and the report sums the shards.
///
/// Shards keep concurrent writers off each other's rows: a batch counts on a shard of its own
/// partitions (a partition belongs to one worker at a time), the other writers on a shared one.
public enum StateCountRepository {
    /// The counter names (`assurance.state_counts.name`).
    static let usersName = "users"
    static let unmappedName = "unmapped_stripe_customers"

    /// Adds `delta` to `shard`, in the caller's transaction: one statement, nothing when the delta is zero.
    ///
    /// - Important: Make it the transaction's last statement: the counter rows stay locked until the
    ///   commit, so they must not be held while waiting for anything else (a deadlock), and a
    ///   transaction waiting for them must hold nothing the holder needs.
    public static func add(_ delta: StateCounts, shard: Int32, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard !delta.isZero else { return }
        // Always in the same name order, so that two writers of one shard lock its rows in one order.
        let names = [unmappedName, usersName]
        let values = [delta.unmappedStripeCustomers, delta.users]
        try await connection.query(
            """
            INSERT INTO assurance.state_counts (shard, name, value)
            SELECT \(shard), n, v FROM unnest(\(names)::text[], \(values)::bigint[]) AS u(n, v) WHERE v <> 0
            ON CONFLICT (shard, name) DO UPDATE SET value = assurance.state_counts.value + EXCLUDED.value
            """, logger: logger)
    }

    /// The counts: the sum of the shards (a few rows, whatever the number of states).
    public static func totals(on connection: PostgresConnection, logger: Logger) async throws -> StateCounts {
        let rows = try await connection.query(
            "SELECT name, sum(value)::bigint FROM assurance.state_counts GROUP BY name", logger: logger)
        var counts = StateCounts()
        for try await (name, value) in rows.decode((String, Int64).self) {
            switch name {
            case usersName: counts.users = value
            case unmappedName: counts.unmappedStripeCustomers = value
            default: break
            }
        }
        return counts
    }

    /// The counts from a scan of every state (cold path: the recount, and the tests' oracle). A Stripe
    /// customer is unmapped when its stored state has the byte 0 at
    /// `EntityState.stripeCustomerUsersByteOffset` (an empty user list), as `StateCounts.count` says.
    public static func scan(on connection: PostgresConnection, logger: Logger) async throws -> StateCounts {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: scanQuery), logger: logger)
        for try await (users, unmapped) in rows.decode((Int64, Int64).self) {
            return StateCounts(users: users, unmappedStripeCustomers: unmapped)
        }
        return StateCounts()
    }

    /// One row: users, unmapped Stripe customers.
    static let scanQuery = """
        SELECT count(*) FILTER (WHERE kind = 'user' AND length(state) > 0),
               count(*) FILTER (WHERE kind = 'stripe_customer' AND length(state) > \(unmappedOffset)
                                  AND get_byte(state, \(unmappedOffset)) = 0)
        FROM assurance.entity_state
        """

    /// Replaces the counters with one shard of scanned counts (what migration 9 starts from).
    static let seedStatements = [
        "DELETE FROM assurance.state_counts",
        """
        INSERT INTO assurance.state_counts (shard, name, value)
        SELECT 0, n, v FROM (\(scanQuery)) AS scanned(users, unmapped),
          LATERAL (VALUES ('\(usersName)', users), ('\(unmappedName)', unmapped)) AS u(n, v)
        """,
    ]

    /// Recounts from a scan, in the caller's transaction; returns the counts before and after.
    ///
    /// For a database whose states were written by workers that do not keep the counts (versions
    /// before migration 9, during a rolling upgrade). The counter table is locked against writers
    /// first, and the scan sees the states as of then: a writer that counted before waits for nothing
    /// and is in the scan (the lock waited for its commit); one that counts after waits for the lock,
    /// is not in the scan (its states were not committed yet) and adds its delta on top. Run it once
    /// no worker of such a version writes any more.
    public static func recount(on connection: PostgresConnection, logger: Logger) async throws
        -> (before: StateCounts, after: StateCounts)
    {
        // EXCLUSIVE lets the report read the counters meanwhile.
        try await connection.query("LOCK TABLE assurance.state_counts IN EXCLUSIVE MODE", logger: logger)
        let before = try await totals(on: connection, logger: logger)
        for statement in seedStatements {
            try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
        }
        return (before, try await totals(on: connection, logger: logger))
    }

    static var unmappedOffset: Int { EntityState.stripeCustomerUsersByteOffset }
}
