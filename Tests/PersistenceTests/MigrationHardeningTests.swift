import Logging
import Persistence
import PostgresNIO
import Testing
import TestSupport

/// Migrations never block or stop the app: no index is built on the app's existing tables inside the
/// migration transaction, and duplicate rows already there do not stop the worker from starting.
@Suite struct MigrationHardeningTests {
    private let logger = Logger(label: "assure.test.migrations")

    @Test func anExistingLedgerWithDuplicateSeqsDoesNotStopTheMigration() async throws {
        try await PostgresTestServer.withFreshDatabase(migrate: false) { database in
            try await database.client.query(
                """
                CREATE TABLE public.credit_transactions (
                    id text PRIMARY KEY, user_id text, seq bigint, type text, amount bigint, balance_after bigint,
                    stripe_event_id text, stripe_payment_intent_id text, stripe_invoice_id text, reason text,
                    actor text, command_id text, created_at timestamptz)
                """, logger: logger)
            try await database.client.query(
                "INSERT INTO public.credit_transactions (id, user_id, seq) VALUES ('a', 'u', 1), ('b', 'u', 1)",
                logger: logger)
            let report = try await database.migrate()
            #expect(report.applied.map(\.version).contains(4))
            let indexes = try await database.client.query(
                "SELECT count(*)::bigint FROM pg_indexes WHERE indexname = 'credit_transactions_user_id_seq_key'",
                logger: logger
            ).collect().first?.decode(Int64.self)
            #expect(indexes == 0)
        }
    }

    @Test func aFreshDatabaseGetsTheUniqueLedgerIndex() async throws {
        try await PostgresTestServer.withFreshDatabase(migrate: true) { database in
            let indexes = try await database.client.query(
                "SELECT count(*)::bigint FROM pg_indexes WHERE indexname = 'credit_transactions_user_id_seq_key'",
                logger: logger
            ).collect().first?.decode(Int64.self)
            #expect(indexes == 1)
        }
    }
}
