import Logging
import PostgresNIO

extension Database {
    /// Applies the migrations not yet recorded in `assurance.schema_migrations`, in one transaction,
    /// then builds the missing indexes on the app's tables outside it (`buildConcurrentIndexes`).
    ///
    /// Safe to run repeatedly (a no-op once current) and concurrently: the transaction first takes
    /// `pg_advisory_xact_lock(Migrations.advisoryLockKey)`, so a second migrator waits, then finds
    /// everything applied. All pending migrations commit together or not at all. Index builds that
    /// fail are in the report (and the log), not thrown.
    /// - Throws: `DatabaseError` with code `.migrationFailed` naming the failing migration.
    @discardableResult
    public func migrate(
        _ migrations: [Migration] = Migrations.all,
        concurrentIndexes: [ConcurrentIndex] = Migrations.concurrentIndexes
    ) async throws(DatabaseError) -> MigrationReport {
        let ordered = migrations.sorted { $0.version < $1.version }
        if let duplicate = Dictionary(grouping: ordered, by: \.version).first(where: { $0.value.count > 1 }) {
            throw DatabaseError(.migrationFailed, "two migrations share version \(duplicate.key)")
        }
        let logger = self.logger
        var current: Migration?
        var report: MigrationReport
        do {
            report = try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT pg_advisory_xact_lock(\(Migrations.advisoryLockKey))", logger: logger)
                try await connection.query("CREATE SCHEMA IF NOT EXISTS assurance", logger: logger)
                try await connection.query(
                    """
                    CREATE TABLE IF NOT EXISTS assurance.schema_migrations (
                        version int PRIMARY KEY,
                        name text NOT NULL,
                        applied_at timestamptz NOT NULL DEFAULT now()
                    )
                    """,
                    logger: logger
                )
                var recorded = Set<Int>()
                for try await version in try await connection.query(
                    "SELECT version FROM assurance.schema_migrations", logger: logger
                ).decode(Int.self) {
                    recorded.insert(version)
                }
                var applied: [Migration] = []
                for migration in ordered where !recorded.contains(migration.version) {
                    current = migration
                    for statement in migration.statements {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query(
                        "INSERT INTO assurance.schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                        logger: logger
                    )
                    applied.append(migration)
                }
                let known = Set(ordered.map(\.version))
                return MigrationReport(
                    applied: applied,
                    alreadyApplied: recorded.filter(known.contains).sorted(),
                    unknownVersions: recorded.subtracting(known).sorted()
                )
            }
        } catch {
            let which = current.map { "migration \($0.version) (\($0.name))" } ?? "migrations"
            throw DatabaseError(
                .migrationFailed, "\(which) failed on \(configuration.redactedURL): \(DatabaseError.describe(error))"
            )
        }
        (report.indexesBuilt, report.indexFailures) = await buildConcurrentIndexes(concurrentIndexes)
        return report
    }

    /// The versions recorded in `assurance.schema_migrations` (empty before the first migration).
    public func appliedMigrationVersions() async throws(DatabaseError) -> [Int] {
        do {
            let exists = try await client.query(
                "SELECT to_regclass('assurance.schema_migrations') IS NOT NULL", logger: logger
            ).collect().first?.decode(Bool.self) ?? false
            guard exists else { return [] }
            var versions: [Int] = []
            for try await version in try await client.query(
                "SELECT version FROM assurance.schema_migrations ORDER BY version", logger: logger
            ).decode(Int.self) {
                versions.append(version)
            }
            return versions
        } catch {
            throw DatabaseError(.queryFailed, "reading schema_migrations failed: \(DatabaseError.describe(error))")
        }
    }
}
