import ArgumentParser
import Consumers
import Foundation
import Persistence
import RepairCommands
import Shared
import WorkerRuntime

/// `assure-worker repair` and `assure-worker explain`: sign a command, publish it, wait for its result.
struct RepairCLICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "repair",
        abstract: "Repair an issue through the admin topic and wait for the result.",
        discussion: """
            Builds a command signed with ASSURE_COMMAND_KEY, publishes it on the commands topic, waits for a worker's \
            result and prints it. Exits non-zero unless the repair was applied (or, with --dry-run, planned).

            Examples:
              assure-worker repair credit-balance:user_123 --reason "Reconciled after Stripe webhook replay review"
              assure-worker repair webhook-missing:evt_9 --reason "Backfill before replay" --dry-run --actor admin_7
            """)

    @Argument(help: "The issue id, e.g. credit-balance:user_123.")
    var issueId: String

    @Option(help: "Why: it goes into the audit row.")
    var reason: String

    @Flag(help: "Check everything and show the plan without applying it.")
    var dryRun = false

    @OptionGroup var actor: CommandActorOptions

    func run() async throws {
        let result = try await CommandRoundTrip.send(
            issueId: issueId, reason: reason, dryRun: dryRun, action: .repair, actor: actor)
        guard result.outcome == .applied || result.outcome == .dryRun else { throw ExitCode(1) }
    }
}

struct ExplainCLICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Record an incident note on an open issue and wait for the result.",
        discussion: """
            The issue stays open; its next event carries the note, and it no longer alerts or fails the guardrails.

            Example:
              assure-worker explain ledger-gap:user_4:17 --note "Row 17 lost in the 2026-11 migration; INC-42"
            """)

    @Argument(help: "The issue id.")
    var issueId: String

    @Option(help: "The incident note.")
    var note: String

    @OptionGroup var actor: CommandActorOptions

    func run() async throws {
        let result = try await CommandRoundTrip.send(
            issueId: issueId, reason: note, dryRun: false, action: .explain, actor: actor)
        guard result.outcome == .explained else { throw ExitCode(1) }
    }
}

/// Who signs a command from the command line.
struct CommandActorOptions: ParsableArguments {
    @Option(help: "Actor id (default ASSURE_ACTOR_ID or $USER).")
    var actor: String?

    @Option(help: "Actor role: ADMIN or SUPER_ADMIN (default ASSURE_ACTOR_ROLE or ADMIN).")
    var role: String?

    @Option(help: "How long to wait for the result, in seconds.")
    var timeout: Int = 30
}

enum CommandRoundTrip {
    static func send(
        issueId: String, reason: String, dryRun: Bool, action: CommandAction, until: String? = nil,
        actor: CommandActorOptions
    ) async throws -> RepairResult
    {
        let config = try AssureConfiguration.fromEnvironment()
        guard let key = config.worker.commandKey else {
            throw ValidationError("ASSURE_COMMAND_KEY is not set: commands cannot be signed")
        }
        let logger = WorkerLogging.makeLogger("assure.cli")
        let command = CommandSigner(key: key).sign(
            RepairCommand(
                commandId: "cmd_" + UUID().uuidString.lowercased(), issueId: issueId, reason: reason,
                actor: CommandActor(
                    id: actor.actor ?? config.actorId, role: actor.role ?? config.actorRole),
                requestedAt: Timestamp.format(WallClock.nowMs()), dryRun: dryRun, action: action, until: until,
                signature: ""))
        let producer = try KafkaProducer(configuration: config.kafkaConfiguration, logger: logger)
        try await producer.send(
            OutboundMessage(
                topic: config.worker.topics.commands, key: Array(issueId.utf8), value: Array(try JSONEncoder().encode(command))))
        await producer.shutdown()
        print("published \(command.commandId) for \(issueId); waiting for its result …")
        let result = try await Database.withDatabase(
            configuration: try DatabaseConfiguration.parse(url: config.databaseURL), logger: logger
        ) { database -> RepairResult? in
            let query = ReportQuery(client: database.client, settings: config.worker, logger: logger)
            let deadline = ContinuousClock.now + .seconds(actor.timeout)
            while ContinuousClock.now < deadline {
                if let result = try await query.commandResult(commandId: command.commandId) { return result }
                try await Task.sleep(for: .milliseconds(200))
            }
            return nil
        }
        guard let result else {
            print("no result within \(actor.timeout) s; it will appear on \(config.worker.topics.repairs)")
            throw ExitCode(2)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
        return result
    }
}
