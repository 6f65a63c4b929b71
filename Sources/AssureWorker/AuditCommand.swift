import ArgumentParser
import Foundation
import Persistence
import WorkerRuntime

/// `assure-worker audit`: the batch oracle over the billing tables against the streaming state.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Compare the streaming state with a from-scratch evaluation of the billing tables.",
        discussion: """
            Runs the batch oracle over users, credit_transactions, stripe_webhook_events (and the plan gates the \
            stream delivered), prints every difference from the open issues of the streaming state, and exits \
            non-zero on any. Run it when the workers have caught up and the settle time has passed.

            Example:
              assure-worker audit
            """)

    func run() async throws {
        let config = try AssureConfiguration.fromEnvironment()
        let logger = WorkerLogging.makeLogger("assure.audit")
        print("Auditing the billing tables against the streaming state …")
        let report = try await Database.withDatabase(
            configuration: try DatabaseConfiguration.parse(url: config.databaseURL), logger: logger
        ) { database in
            try await AuditRunner(client: database.client, settings: config.worker, logger: logger).run()
        }
        print(
            "\(report.users) users, \(report.ledgerRows) ledger rows: oracle \(report.oracleIssues) open issues, "
                + "streaming state \(report.streamingIssues)")
        for row in report.unusableRows.prefix(100) { print("SKIPPED \(row)") }
        if report.unusableRows.count > 100 { print("SKIPPED … \(report.unusableRows.count - 100) more") }
        for difference in report.differences { print("DIFF \(difference)") }
        guard report.isClean else {
            print("\(report.differences.count) differences")
            throw ExitCode(1)
        }
        print("clean: the streaming state agrees with the batch oracle")
    }
}
