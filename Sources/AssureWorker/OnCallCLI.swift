import ArgumentParser
import Foundation
import Shared
import WorkerRuntime

/// `assure-worker ack`: acknowledge an open issue (it leaves the alerts, not the guardrails or the gate).
struct AckCLICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ack",
        abstract: "Acknowledge an open issue and wait for the result.",
        discussion: """
            The issue stays open and leaves the alerts until its evidence worsens; it still fails the guardrails, \
            and a critical one still blocks the release gate.

            Example:
              assure-worker ack duplicate-invoice-grant:in_9 --note "Looking into it; INC-77"
            """)

    @Argument(help: "The issue id.")
    var issueId: String

    @Option(help: "Why (the acknowledgement's note).")
    var note: String

    @OptionGroup var actor: CommandActorOptions

    func run() async throws {
        let result = try await CommandRoundTrip.send(
            issueId: issueId, reason: note, dryRun: false, action: .ack, actor: actor)
        guard result.outcome == .acknowledged else { throw ExitCode(1) }
    }
}

/// `assure-worker snooze`: leave an open issue out of alerts until a time at most 7 days ahead.
struct SnoozeCLICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snooze",
        abstract: "Snooze an open issue's alerts until a time and wait for the result.",
        discussion: """
            --until is an RFC 3339 time, or a duration from now such as 30m, 4h or 2d (at most 7 days).

            Example:
              assure-worker snooze credit-balance:user_4 --until 4h --note "Batch backfill running; INC-78"
            """)

    @Argument(help: "The issue id.")
    var issueId: String

    @Option(help: "Until when: RFC 3339, or a duration like 30m, 4h, 2d.")
    var until: String

    @Option(help: "Why.")
    var note: String

    @OptionGroup var actor: CommandActorOptions

    func run() async throws {
        guard let end = Self.resolve(until, nowMs: WallClock.nowMs()) else {
            throw ValidationError("--until must be RFC 3339 or a duration like 30m, 4h, 2d; got '\(until)'")
        }
        let result = try await CommandRoundTrip.send(
            issueId: issueId, reason: note, dryRun: false, action: .snooze, until: end, actor: actor)
        guard result.outcome == .snoozed else { throw ExitCode(1) }
    }

    /// An RFC 3339 time as given, or `now + duration` formatted.
    static func resolve(_ text: String, nowMs: Int64) -> String? {
        if Timestamp.parse(text) != nil { return text }
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        let unitMs: Int64
        switch unit {
        case "s": unitMs = 1000
        case "m": unitMs = 60_000
        case "h": unitMs = 3_600_000
        case "d": unitMs = 86_400_000
        default: return nil
        }
        let (delta, overflow) = count.multipliedReportingOverflow(by: unitMs)
        return overflow ? nil : Timestamp.format(nowMs + delta)
    }
}
