import ArgumentParser
import CheckPipeline
import Foundation
import Logging
import Persistence

/// `assure-worker migrate`: creates or upgrades the billing reference tables and the `assurance` schema.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the billing reference tables and the assurance schema.",
        discussion: """
            Safe to run repeatedly and from several processes at once (an advisory lock serializes them).

            --recount then recounts the report's counts over the entity states (users, unmapped Stripe customers) from a scan: needed once after a rolling upgrade from a version before migration 9, whose workers wrote states without counting them, when none of them runs any more.

            Examples:
              assure-worker migrate
              assure-worker migrate --database-url postgres://assure:secret@db:5432/assure
              assure-worker migrate --recount
            """
    )

    @Option(
        name: .customLong("database-url"),
        help: "PostgreSQL URL (default: $ASSURE_DATABASE_URL, else \(DatabaseConfiguration.defaultURL))."
    )
    var databaseURL: String?

    @Flag(help: "Then recount the report's counts over the entity states from a scan (after a rolling upgrade).")
    var recount = false

    func run() async throws {
        let url = databaseURL ?? AssureConfiguration.databaseURL()
        var logger = Logger(label: "assure.migrate")
        logger.logLevel = .warning
        do {
            let configuration = try DatabaseConfiguration.parse(url: url)
            let recount = self.recount
            let (report, counts) = try await Database.withDatabase(configuration: configuration, logger: logger) {
                database -> (MigrationReport, (before: StateCounts, after: StateCounts)?) in
                let report = try await database.migrate()
                // After the migration, so that the counter table exists.
                return (report, recount ? try await database.recountStates() : nil)
            }
            if report.applied.isEmpty && report.indexesBuilt.isEmpty && report.indexFailures.isEmpty {
                print("database \(configuration.redactedURL) is up to date (versions \(report.alreadyApplied.map(String.init).joined(separator: ", ")))")
            } else {
                for migration in report.applied {
                    print("applied migration \(migration.version): \(migration.name)")
                }
            }
            for name in report.indexesBuilt {
                print("built index \(name) concurrently")
            }
            for failure in report.indexFailures {
                // Not fatal: the worker starts without it, and the next migrate retries.
                FileHandle.standardError.write(
                    Data("assure-worker migrate: warning: index \(failure.name) not built: \(failure.reason)\n".utf8))
            }
            if let counts {
                print(
                    "recounted: users \(counts.before.users) -> \(counts.after.users), unmapped Stripe customers "
                        + "\(counts.before.unmappedStripeCustomers) -> \(counts.after.unmappedStripeCustomers)")
            }
            if !report.unknownVersions.isEmpty {
                print("note: the database also records versions this binary does not know: \(report.unknownVersions)")
            }
        } catch {
            FileHandle.standardError.write(Data("assure-worker migrate: \(DatabaseError.describe(error))\n".utf8))
            throw ExitCode.failure
        }
    }
}
