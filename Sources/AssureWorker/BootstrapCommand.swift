import ArgumentParser
import Foundation
import Persistence
import WorkerRuntime

/// `assure-worker bootstrap`: seeds the cluster's state from the billing tables.
struct BootstrapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bootstrap",
        abstract: "Seed the cluster's state from the billing tables (users, credit_transactions, stripe_webhook_events).",
        discussion: """
            Reads one read-only REPEATABLE READ snapshot of the billing tables and applies every row as if it had \
            been consumed from its topic: the same checks, issue events and exactly-once writes. Progress goes to \
            stderr at least once a second, then a summary. Safe while workers run and safe to repeat; a run that \
            was killed can simply be started again. Exits 0 on success, 1 on failure.

            Example (first day on an existing app):
              assure-worker migrate && assure-worker bootstrap && assure-worker run
            """)

    @Option(help: "Rows per transaction.")
    var chunkSize = 10_000

    func run() async throws {
        let logger = WorkerLogging.makeLogger("assure.bootstrap")
        do {
            let config = try AssureConfiguration.fromEnvironment()
            let summary = try await Database.withDatabase(
                configuration: try DatabaseConfiguration.parse(url: config.databaseURL), logger: logger
            ) { database in
                let processor = BatchProcessor(client: database.client, settings: config.worker, logger: logger)
                return try await Bootstrap(
                    processor: processor, logger: logger, chunkSize: chunkSize, report: { Self.stderr($0) }
                ).run()
            }
            _ = summary
        } catch {
            Self.stderr("bootstrap failed: \(error)")
            throw ExitCode(1)
        }
    }

    static func stderr(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
