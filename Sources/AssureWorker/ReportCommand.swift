import ArgumentParser
import Foundation
import Persistence
import WorkerRuntime

/// `assure-worker report`: the cluster-wide report, read from PostgreSQL.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print the billing assurance report (a table, or --json).",
        discussion: """
            Reads the report straight from PostgreSQL (ASSURE_DATABASE_URL), the same report as \
            GET /api/admin/billing-assurance.

            Examples:
              assure-worker report
              assure-worker report --period-days 30 --json
            """)

    @Option(help: "Period of the stale-subscription check in days (1-365); default ASSURE_PERIOD_DAYS.")
    var periodDays: Int64?

    @Flag(help: "Print the report JSON instead of a table.")
    var json = false

    func run() async throws {
        let config = try AssureConfiguration.fromEnvironment()
        if let periodDays, !(1...365).contains(periodDays) {
            throw ValidationError("--period-days must be from 1 to 365")
        }
        let logger = WorkerLogging.makeLogger("assure.report")
        let report = try await Database.withDatabase(
            configuration: try DatabaseConfiguration.parse(url: config.databaseURL), logger: logger
        ) { database in
            try await ReportQuery(client: database.client, settings: config.worker, logger: logger)
                .report(periodDays: periodDays)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(ReportPrinter.render(report, maxIssues: 200))
        }
    }
}
