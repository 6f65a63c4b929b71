import ArgumentParser
import Consumers
import Foundation
import Shared
import WorkerRuntime

/// `assure-worker watch`: follow the issues, alerts and repairs topics live.
struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Follow issue events, alerts and repair results live, one line each.",
        discussion: """
            Reads the output topics in a consumer group of its own (never the workers' group, so it takes \
            no partitions from them), from the end of each topic unless --from-beginning. Filters are exact.

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
        // A group of its own: a watcher must never take partitions from the workers.
        kafka.groupID = "assure-watch-" + UUID().uuidString.lowercased()
        kafka.clientID = "assure-watch"
        kafka.autoOffsetReset = fromBeginning ? "earliest" : "latest"
        kafka.maxBatchWaitMs = 20
        let topics = config.worker.topics
        let group = try KafkaConsumerGroup(
            topics: [topics.issues, topics.alerts, topics.repairs], configuration: kafka, logger: logger)
        let json = json
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var printer = WatchPrinter(topics: topics, filter: filter, json: json)
            let output = FileHandle.standardOutput
            for await event in group.events {
                switch event {
                case .records(let batch):
                    for record in batch.records {
                        guard let line = printer.line(topic: record.topic, value: record.value ?? []) else { continue }
                        output.write(Data((line + "\n").utf8))
                    }
                case .partitionsAssigned(let assignment):
                    assignment.start(from: [:])
                case .partitionsRevoked(let revocation):
                    revocation.done()
                }
            }
            try await tasks.waitForAll()
        }
    }
}
