import ArgumentParser
import Consumers
import Foundation
import Shared
import Synchronization
import WorkerRuntime

/// `assure-worker watch`: follow the issues, alerts and repairs topics live.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow issue events, alerts and repair results live, one line each.",
        discussion: """
            Reads every partition of the output topics by direct assignment (it never joins the workers' \
            group, so it takes no partitions from them), from the end of each topic unless --from-beginning. \
            Filters are exact.

            Examples:
              assure-worker watch --severity critical
              assure-worker watch --user user_123 --json
            """)

    @Option(help: "Only events of this user's issues.")
    var user: String?

    @Option(help: "Only this check, e.g. credit_balance_mismatch.")
    var check: String?

    @Option(help: "Only this severity: info, warning, error or critical.")
    var severity: String?

    @Flag(help: "Print each message as one JSON line {\"kind\", \"topic\", \"event\"}.")
    var json = false

    @Flag(help: "Start at the beginning of each topic instead of its end.")
    var fromBeginning = false

    func run() async throws {
        var filter = WatchPrinter.Filter(userId: user)
        if let check {
            guard let kind = CheckKind(rawValue: check) else { throw ValidationError("unknown check '\(check)'") }
            filter.check = kind
        }
        if let severity {
            guard let level = Severity(rawValue: severity) else {
                throw ValidationError("--severity must be info, warning, error or critical")
            }
            filter.severity = level
        }
        let config = try AssureConfiguration.fromEnvironment()
        let logger = WorkerLogging.makeLogger("assure.watch")
        var kafka = config.kafkaConfiguration
        kafka.clientID = "assure-watch"
        let topics = config.worker.topics
        // Direct assignment of every partition: a watcher never joins (or disturbs) the workers' group.
        let tail = try KafkaTopicTail(
            topics: [topics.issues, topics.alerts, topics.repairs], configuration: kafka,
            fromBeginning: fromBeginning, logger: logger)
        let printer = LockedPrinter(WatchPrinter(topics: topics, filter: filter, json: json))
        try await withTaskCancellationHandler {
            try await tail.run { record in
                guard let line = printer.line(topic: record.topic, value: record.value ?? []) else {
                    return
                }
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        } onCancel: {
            tail.close()
        }
    }
}

/// The printer shared with the reading thread.
final class LockedPrinter: Sendable {
    private let printer: Mutex<WatchPrinter>
    init(_ printer: WatchPrinter) { self.printer = Mutex(printer) }
    func line(topic: String, value: [UInt8]) -> String? { printer.withLock { $0.line(topic: topic, value: value) } }
}
