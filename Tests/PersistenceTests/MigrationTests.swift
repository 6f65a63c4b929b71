import Logging
import Persistence
import PostgresNIO
import TestSupport
import Testing

@Suite("Migrations")
struct MigrationTests {
    private let logger = Logger(label: "assure.test.migrations")
    /// Every version this binary knows (numbers are fixed per feature, so there may be gaps).
    private static let all = Migrations.all.map(\.version)
    /// The indexes built on the app's tables after the transaction, concurrently.
    private static let appIndexes = Migrations.concurrentIndexes.map(\.name)

    @Test func migrate_twice_secondRunAppliesNothing() async throws {
        try await PostgresTestServer.withFreshDatabase(migrate: false) { database in
            #expect(try await database.appliedMigrationVersions() == [])
            let first = try await database.migrate()
            #expect(first.applied.map(\.version) == Self.all)
            #expect(first.alreadyApplied == [])
            #expect(first.indexesBuilt == Self.appIndexes)
            #expect(first.indexFailures == [])
            let indexesBefore = try await appIndexStates(in: database)
            let second = try await database.migrate()
            #expect(second.applied == [])
            #expect(second.alreadyApplied == Self.all)
            #expect(second.unknownVersions == [])
            #expect(second.indexesBuilt == [])
            #expect(second.indexFailures == [])
            #expect(try await database.appliedMigrationVersions() == Self.all)
            // The same index objects: nothing was dropped or rebuilt.
            #expect(try await appIndexStates(in: database) == indexesBefore)
        }
    }

    @Test func migrate_concurrentlyFromTwoClients_bothSucceedAndApplyOnce() async throws {
        let server = try await PostgresTestServer.shared()
        let configuration = try await server.createDatabase(prefix: "concurrent")
        let logger = self.logger
        let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    try await Database.withDatabase(configuration: configuration, logger: logger) { database in
                        try await database.migrate()
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        // Exactly one migrator applied both; the others found them applied.
        #expect(reports.filter { $0.applied.map(\.version) == Self.all }.count == 1)
        #expect(reports.filter { $0.applied.isEmpty && $0.alreadyApplied == Self.all }.count == 3)
        let rows = try await Database.withDatabase(configuration: configuration, logger: logger) { database in
            try await database.client.query("SELECT count(*) FROM assurance.schema_migrations", logger: logger)
                .collect().first?.decode(Int.self)
        }
        #expect(rows == Self.all.count)
        // Each app-table index was built by exactly one migrator; the others found it valid.
        #expect(reports.flatMap(\.indexesBuilt).sorted() == Self.appIndexes.sorted())
        #expect(reports.allSatisfy { $0.indexFailures.isEmpty })
        let states = try await Database.withDatabase(configuration: configuration, logger: logger) { database in
            try await appIndexStates(in: database)
        }
        #expect(states.keys.sorted() == Self.appIndexes.sorted())
        #expect(states.values.allSatisfy { $0.valid })
        try await server.dropDatabase(configuration.database)
    }

    @Test func billingTables_haveExactlyTheContractColumns() async throws {
        let expected: [String: [(String, String)]] = [
            "users": [
                ("id", "text"), ("role", "text"), ("tier", "text"), ("credits", "bigint"),
                ("unlimited_credits", "boolean"), ("stripe_customer_id", "text"), ("stripe_subscription_id", "text"),
                ("subscription_status", "text"), ("updated_at", "timestamp with time zone"), ("version", "bigint"),
            ],
            "credit_transactions": [
                ("id", "text"), ("user_id", "text"), ("seq", "bigint"), ("type", "text"), ("amount", "bigint"),
                ("balance_after", "bigint"), ("stripe_event_id", "text"), ("stripe_payment_intent_id", "text"),
                ("stripe_invoice_id", "text"), ("reason", "text"), ("actor", "text"), ("command_id", "text"),
                ("created_at", "timestamp with time zone"),
            ],
            "subscription_audit": [
                ("id", "text"), ("user_id", "text"), ("from_tier", "text"), ("to_tier", "text"), ("reason", "text"),
                ("actor", "text"), ("command_id", "text"), ("created_at", "timestamp with time zone"),
            ],
            "stripe_webhook_events": [
                ("event_id", "text"), ("type", "text"), ("stripe_payment_intent_id", "text"),
                ("stripe_invoice_id", "text"), ("processed_at", "timestamp with time zone"), ("source", "text"),
            ],
        ]
        try await PostgresTestServer.withFreshDatabase { database in
            for (table, columns) in expected {
                let actual = try await columnsOf(schema: "public", table: table, in: database)
                #expect(actual.map(\.0) == columns.map(\.0), "columns of \(table)")
                #expect(actual.map(\.1) == columns.map(\.1), "types of \(table)")
            }
            let primaryKeys = try await primaryKeyColumns(schema: "public", in: database)
            #expect(primaryKeys["users"] == ["id"])
            #expect(primaryKeys["credit_transactions"] == ["id"])
            #expect(primaryKeys["subscription_audit"] == ["id"])
            #expect(primaryKeys["stripe_webhook_events"] == ["event_id"])
        }
    }

    @Test func creditTransactions_rejectSecondRowWithSameUserAndSeq() async throws {
        try await PostgresTestServer.withFreshDatabase { database in
            try await database.client.query(
                "INSERT INTO credit_transactions (id, user_id, seq, type, amount) VALUES ('a', 'u1', 1, 'PURCHASE', 5)",
                logger: logger
            )
            let error = await #expect(throws: PSQLError.self) {
                try await database.client.query(
                    "INSERT INTO credit_transactions (id, user_id, seq, type, amount) VALUES ('b', 'u1', 1, 'AUDIT', 0)",
                    logger: logger
                )
            }
            #expect(error.flatMap { DatabaseError.sqlState(of: $0) } == "23505")
        }
    }

    @Test func assuranceSchema_hasTheWorkerTables() async throws {
        let expected: [String: [String]] = [
            "schema_migrations": ["version", "name", "applied_at"],
            "consumer_offsets": [
                "group_id", "topic", "partition", "next_offset", "updated_at", "max_event_ms", "applied", "dead_letters",
                "skipped",
            ],
            "entity_state": ["key", "kind", "state", "settle_deadline_ms", "stale_at_event_ms", "updated_at", "version"],
            "issues": [
                "issue_id", "version", "status", "check_name", "category", "severity", "user_id", "revenue_impacting",
                "repair_action", "title", "evidence", "event", "explanation", "first_seen_at", "last_seen_at",
                "resolved_at", "resolution", "snoozed_until", "action_basis",
            ],
            "issue_events": ["issue_id", "version", "event"],
            "outbox": [
                "id", "topic", "key", "payload", "created_at", "sent_at", "refused_error", "key_bytes", "attempts",
                "next_attempt_at", "refused_since",
            ],
            "processed_commands": ["command_id", "issue_id", "result", "processed_at", "actor", "reason"],
            "alert_policy_state": ["id", "state"],
            "stripe_events": [
                "customer_id", "event_id", "type", "created_at", "object_id", "status", "subscription_id",
                "billing_reason", "amount_paid", "currency", "applied_at", "seq",
            ],
            "state_counts": ["shard", "name", "value"],
        ]
        try await PostgresTestServer.withFreshDatabase { database in
            for (table, columns) in expected {
                let actual = try await columnsOf(schema: "assurance", table: table, in: database)
                #expect(actual.map(\.0) == columns, "columns of assurance.\(table)")
            }
            let primaryKeys = try await primaryKeyColumns(schema: "assurance", in: database)
            #expect(primaryKeys["consumer_offsets"] == ["group_id", "topic", "partition"])
            #expect(primaryKeys["issues"] == ["issue_id"])
            #expect(primaryKeys["stripe_events"] == ["customer_id", "event_id"])
            #expect(primaryKeys["state_counts"] == ["shard", "name"])

            var partialIndexes: [String] = []
            for try await name in try await database.client.query(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'assurance' AND indexdef LIKE '% WHERE %' ORDER BY indexname",
                logger: logger
            ).decode(String.self) {
                partialIndexes.append(name)
            }
            #expect(
                partialIndexes == [
                    "entity_state_settle_deadline_idx", "entity_state_stale_at_idx", "issues_snoozed_until_idx",
                    "outbox_refused_idx", "outbox_unsent_idx",
                ])
        }
    }

    @Test func assuranceTables_acceptTheRowsTheWorkerWrites() async throws {
        try await PostgresTestServer.withFreshDatabase { database in
            let payload = ByteBuffer(string: "{}")
            try await database.client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    "INSERT INTO assurance.consumer_offsets (group_id, topic, partition, next_offset) VALUES ('g', 't', 0, 10)",
                    logger: logger
                )
                try await connection.query(
                    "INSERT INTO assurance.outbox (topic, key, payload) VALUES ('t', 'k', \(payload))", logger: logger
                )
                try await connection.query(
                    """
                    INSERT INTO assurance.issues (issue_id, version, status, event, evidence)
                    VALUES ('credit-balance:u1', 1, 'open', '{"issueId": "credit-balance:u1"}'::jsonb, '{"balance": 1}'::jsonb)
                    """,
                    logger: logger
                )
                try await connection.query(
                    "INSERT INTO assurance.alert_policy_state (id, state) VALUES (1, '{}'::jsonb)", logger: logger
                )
            }
            let unsent = try await database.client.query(
                "SELECT id, sent_at IS NULL FROM assurance.outbox", logger: logger
            ).collect().first?.decode((Int64, Bool).self)
            #expect(unsent?.0 == 1 && unsent?.1 == true)
            let counters = try await database.client.query(
                "SELECT applied, dead_letters, skipped FROM assurance.consumer_offsets WHERE group_id = 'g'", logger: logger
            ).collect().first?.decode((Int64, Int64, Int64).self)
            #expect(counters?.0 == 0 && counters?.1 == 0 && counters?.2 == 0)
        }
    }

    @Test func migrate_failingMigration_appliesNothingOfThatRun() async throws {
        let broken = Migration(
            version: 1000, name: "broken",
            statements: ["CREATE TABLE assurance.half_done (id int)", "SELECT no_such_function()"]
        )
        try await PostgresTestServer.withFreshDatabase(migrate: false) { database in
            let error = await #expect(throws: DatabaseError.self) {
                try await database.migrate(Migrations.all + [broken])
            }
            #expect(error?.code == .migrationFailed)
            #expect(error?.reason.contains("migration 1000 (broken)") == true, "\(error?.reason ?? "")")
            #expect(error?.reason.contains("42883") == true)
            // The whole run was one transaction: not even the real migrations stuck.
            #expect(try await database.appliedMigrationVersions() == [])
            let applied = try await database.migrate()
            #expect(applied.applied.map(\.version) == Self.all)
        }
    }

    @Test func migrate_databaseNewerThanBinary_reportsUnknownVersions() async throws {
        try await PostgresTestServer.withFreshDatabase { database in
            try await database.client.query(
                "INSERT INTO assurance.schema_migrations (version, name) VALUES (99, 'from the future')", logger: logger
            )
            let report = try await database.migrate()
            #expect(report.applied == [])
            #expect(report.unknownVersions == [99])
        }
    }

    @Test func migrations_haveIncreasingUniqueVersions() {
        // Increasing and unique; gaps are allowed (numbers are reserved per feature).
        let versions = Migrations.all.map(\.version)
        #expect(versions.first == 1)
        #expect(zip(versions, versions.dropFirst()).allSatisfy { $0 < $1 })
        #expect(Migrations.all.allSatisfy { !$0.statements.isEmpty })
    }

    // MARK: - indexes on the app's tables

    @Test func migrations_buildNoIndexOnAppTablesInsideTheTransaction() {
        // The one exception: migration 1's unique ledger index, only on a table that is still empty.
        let emptyTableGuard = "IF NOT EXISTS (SELECT 1 FROM public.credit_transactions LIMIT 1)"
        for migration in Migrations.all {
            for statement in migration.statements where statement.uppercased().contains("INDEX") {
                let onAppTable = statement.contains("ON public.") || statement.contains("ON credit_transactions")
                #expect(!onAppTable || statement.contains(emptyTableGuard), "migration \(migration.version): \(statement)")
            }
        }
        #expect(Migrations.concurrentIndexes.allSatisfy { $0.definition.hasPrefix("public.") })
        #expect(Migrations.concurrentIndexes.allSatisfy { $0.createStatement.contains("CONCURRENTLY IF NOT EXISTS") })
    }

    @Test func migrate_freshDatabase_buildsValidAppTableIndexes() async throws {
        try await PostgresTestServer.withFreshDatabase { database in
            let states = try await appIndexStates(in: database)
            #expect(states.keys.sorted() == Self.appIndexes.sorted())
            #expect(states.values.allSatisfy { $0.valid && !$0.unique })
            let definitions = try await indexDefinitions(in: database)
            #expect(definitions["subscription_audit_user_id_idx"]?.hasSuffix("(user_id)") == true)
            #expect(definitions["credit_transactions_user_id_created_at_idx"]?.hasSuffix("(user_id, created_at)") == true)
            #expect(definitions["credit_transactions_stripe_event_id_idx"]?.contains("WHERE (stripe_event_id IS NOT NULL)") == true)
        }
    }

    @Test func migrate_appTablesAlreadyHoldingDuplicateRows_succeeds() async throws {
        try await PostgresTestServer.withFreshDatabase(migrate: false) { database in
            // The app's tables exist and hold rows, some with the same (user_id, seq) and (user_id, created_at).
            for statement in Migrations.billingReferenceTables.statements where !statement.contains("INDEX") {
                try await database.client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
            try await database.client.query(
                """
                INSERT INTO public.credit_transactions (id, user_id, seq, type, amount, stripe_event_id, created_at)
                SELECT 'tx' || g, 'u' || (g % 50), g % 7, 'PURCHASE', 5, CASE WHEN g % 3 = 0 THEN 'evt_' || g END,
                       '2026-01-01'::timestamptz
                FROM generate_series(1, 2000) g
                """, logger: logger)
            try await database.client.query(
                """
                INSERT INTO public.subscription_audit (id, user_id, from_tier, to_tier)
                SELECT 'a' || g, 'u' || (g % 10), 'free', 'pro' FROM generate_series(1, 100) g
                """, logger: logger)
            try await database.client.query(
                "INSERT INTO public.users (id, tier, credits) VALUES ('u1', 'pro', 5), ('u2', 'free', 0)", logger: logger)

            let report = try await database.migrate()
            #expect(report.applied.map(\.version) == Self.all)
            #expect(report.indexesBuilt == Self.appIndexes)
            #expect(report.indexFailures == [])
            let states = try await appIndexStates(in: database)
            #expect(states.values.allSatisfy { $0.valid })
            // Duplicates stay (the app's data), so there is no unique ledger index.
            #expect(try await indexDefinitions(in: database)["credit_transactions_user_id_seq_key"] == nil)
            let rows = try await database.client.query(
                "SELECT count(*)::bigint FROM public.credit_transactions", logger: logger
            ).collect().first?.decode(Int64.self)
            #expect(rows == 2000)
            #expect(try await database.migrate().indexesBuilt == [])
        }
    }

    @Test func migrate_invalidLeftoverOfAnInterruptedBuild_isDroppedAndRebuilt() async throws {
        try await PostgresTestServer.withFreshDatabase { database in
            let name = "credit_transactions_user_id_created_at_idx"
            try await database.client.query(PostgresQuery(unsafeSQL: "DROP INDEX public.\(name)"), logger: logger)
            try await database.client.query(
                """
                INSERT INTO public.credit_transactions (id, user_id, seq, created_at)
                VALUES ('a', 'u', 1, '2026-01-01'), ('b', 'u', 2, '2026-01-01')
                """, logger: logger)
            // A unique concurrent build over duplicates fails and leaves an invalid index of that name.
            await #expect(throws: PSQLError.self) {
                try await database.client.query(
                    PostgresQuery(unsafeSQL: "CREATE UNIQUE INDEX CONCURRENTLY \(name) ON public.credit_transactions (user_id, created_at)"),
                    logger: logger)
            }
            #expect(try await appIndexStates(in: database)[name]?.valid == false)

            let report = try await database.migrate()
            #expect(report.indexesBuilt == [name])
            #expect(report.indexFailures == [])
            let state = try await appIndexStates(in: database)[name]
            #expect(state?.valid == true && state?.unique == false)
        }
    }

    @Test func migrate_failingIndexBuild_isReportedNotThrown_andLeavesNoInvalidIndex() async throws {
        // Dividing by zero fails while the index is built, after PostgreSQL created the (invalid) index.
        let failing = ConcurrentIndex(name: "credit_transactions_failing_idx", definition: "public.credit_transactions ((amount / 0))")
        try await PostgresTestServer.withFreshDatabase { database in
            try await database.client.query(
                "INSERT INTO public.credit_transactions (id, user_id, seq, amount) VALUES ('a', 'u', 1, 5)", logger: logger)
            let report = try await database.migrate(concurrentIndexes: [failing] + Migrations.concurrentIndexes)
            #expect(report.indexFailures.map(\.name) == [failing.name])
            #expect(report.indexFailures.first?.reason.contains("22012") == true, "\(report.indexFailures)")
            #expect(report.indexesBuilt == [])
            #expect(try await indexDefinitions(in: database)[failing.name] == nil)
        }
    }

    /// Per app-table index of `Migrations.concurrentIndexes` present: its oid, validity and uniqueness.
    private func appIndexStates(in database: Database) async throws -> [String: IndexState] {
        var states: [String: IndexState] = [:]
        for try await (name, oid, valid, unique) in try await database.client.query(
            """
            SELECT c.relname::text, c.oid::bigint, i.indisvalid, i.indisunique FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relname::text = ANY(\(Self.appIndexes))
            """,
            logger: logger
        ).decode((String, Int64, Bool, Bool).self) {
            states[name] = IndexState(oid: oid, valid: valid, unique: unique)
        }
        return states
    }

    private struct IndexState: Equatable {
        var oid: Int64
        var valid: Bool
        var unique: Bool
    }

    private func indexDefinitions(in database: Database) async throws -> [String: String] {
        var definitions: [String: String] = [:]
        for try await (name, definition) in try await database.client.query(
            "SELECT indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public'", logger: logger
        ).decode((String, String).self) {
            definitions[name] = definition
        }
        return definitions
    }

    // MARK: - information_schema helpers

    private func columnsOf(schema: String, table: String, in database: Database) async throws -> [(String, String)] {
        var columns: [(String, String)] = []
        for try await (name, type) in try await database.client.query(
            """
            SELECT column_name::text, data_type::text FROM information_schema.columns
            WHERE table_schema = \(schema) AND table_name = \(table) ORDER BY ordinal_position
            """,
            logger: logger
        ).decode((String, String).self) {
            columns.append((name, type))
        }
        return columns
    }

    private func primaryKeyColumns(schema: String, in database: Database) async throws -> [String: [String]] {
        var keys: [String: [String]] = [:]
        for try await (table, column) in try await database.client.query(
            """
            SELECT k.table_name::text, k.column_name::text
            FROM information_schema.table_constraints c
            JOIN information_schema.key_column_usage k
              ON k.constraint_name = c.constraint_name AND k.table_schema = c.table_schema
            WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = \(schema)
            ORDER BY k.table_name, k.ordinal_position
            """,
            logger: logger
        ).decode((String, String).self) {
            keys[table, default: []].append(column)
        }
        return keys
    }
}
