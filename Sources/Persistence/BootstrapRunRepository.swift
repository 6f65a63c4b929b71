import Foundation
import Logging
import PostgresNIO

/// The record of bootstrap runs (`assurance.bootstrap_runs`): when each ran, the rows it read and
/// those it applied (which the report counts).
public enum BootstrapRunRepository {
    /// Rows applied by one run, per billing table.
    public struct Applied: Sendable, Hashable {
        public var users: Int64 = 0
        public var ledger: Int64 = 0
        public var webhooks: Int64 = 0
        public init(users: Int64 = 0, ledger: Int64 = 0, webhooks: Int64 = 0) {
            self.users = users
            self.ledger = ledger
            self.webhooks = webhooks
        }
    }

    /// Starts a run; returns its id.
    public static func start(on connection: PostgresConnection, logger: Logger) async throws -> Int64 {
        let rows = try await connection.query(
            "INSERT INTO assurance.bootstrap_runs (started_at) VALUES (now()) RETURNING id", logger: logger)
        for try await id in rows.decode(Int64.self) { return id }
        throw BootstrapRunError(description: "no run id returned")
    }

    /// Adds applied rows to a run (inside the transaction that applied them, so they count once).
    public static func add(
        _ applied: Applied, rowsRead: Int64, run: Int64, on connection: PostgresConnection, logger: Logger
    ) async throws {
        try await connection.query(
            """
            UPDATE assurance.bootstrap_runs SET rows_read = rows_read + \(rowsRead),
              users_applied = users_applied + \(applied.users), ledger_applied = ledger_applied + \(applied.ledger),
              webhooks_applied = webhooks_applied + \(applied.webhooks)
            WHERE id = \(run)
            """, logger: logger)
    }

    /// Marks a run completed.
    public static func finish(run: Int64, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            "UPDATE assurance.bootstrap_runs SET finished_at = now() WHERE id = \(run)", logger: logger)
    }

    /// The end time (ms) and rows read of the latest completed run.
    public static func latestCompleted(on connection: PostgresConnection, logger: Logger) async throws
        -> (finishedAtMs: Int64, rows: Int64)?
    {
        let rows = try await connection.query(
            """
            SELECT (extract(epoch FROM finished_at) * 1000)::bigint, rows_read FROM assurance.bootstrap_runs
            WHERE finished_at IS NOT NULL ORDER BY finished_at DESC, id DESC LIMIT 1
            """, logger: logger)
        for try await (at, count) in rows.decode((Int64, Int64).self) { return (at, count) }
        return nil
    }

    /// Rows applied by every run so far (completed or not: what they applied is in the state).
    public static func appliedTotals(on connection: PostgresConnection, logger: Logger) async throws -> Applied {
        let rows = try await connection.query(
            """
            SELECT coalesce(sum(users_applied), 0)::bigint, coalesce(sum(ledger_applied), 0)::bigint,
              coalesce(sum(webhooks_applied), 0)::bigint FROM assurance.bootstrap_runs
            """, logger: logger)
        for try await (users, ledger, webhooks) in rows.decode((Int64, Int64, Int64).self) {
            return Applied(users: users, ledger: ledger, webhooks: webhooks)
        }
        return Applied()
    }
}

/// A bootstrap run that could not be recorded.
public struct BootstrapRunError: Error, CustomStringConvertible {
    public var description: String
}
