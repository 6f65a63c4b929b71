import ArgumentParser
import Foundation
import Persistence
import WorkerRuntime

/// `assure-worker gate`: the release gate for a deploy pipeline, read from PostgreSQL.
struct GateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gate",
        abstract: "Answer the release gate: exit 0 when it passes, 2 when blocked, 1 on error.",
        discussion: """
            Reads the open issues from PostgreSQL (ASSURE_DATABASE_URL), as GET …/release-gate does. Blocked \
            while an open critical issue is unexplained (an acknowledgement or snooze does not clear it), a \
            plan-gate issue is open, or an input-stalled issue is open. Prints one line per blocker \
            (<issueId>: <reason>), then "release gate: pass" or "release gate: blocked (<n>)".

            Example (a deploy step):
              assure-worker gate || exit 1
            """)

    @Flag(help: "Print the endpoint's JSON answer instead of lines.")
    var json = false

    func run() async throws {
        let gate: ReleaseGate
        do {
            let config = try AssureConfiguration.fromEnvironment()
            let logger = WorkerLogging.makeLogger("assure.gate")
            gate = try await Database.withDatabase(
                configuration: try DatabaseConfiguration.parse(url: config.databaseURL), logger: logger
            ) { database in
                try await ReportQuery(client: database.client, settings: config.worker, logger: logger).releaseGate()
            }
        } catch {
            FileHandle.standardError.write(Data("release gate: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(gate), as: UTF8.self))
        } else {
            for line in gate.lines { print(line) }
        }
        if !gate.pass { throw ExitCode(2) }
    }
}
