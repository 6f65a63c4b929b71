import CheckPipeline
import Foundation
import Logging
import Persistence
import PostgresNIO
import Shared

/// Carries out one verified command inside the caller's transaction: duplicate check, issue checks,
/// then the narrow change with its audit row, re-reading and locking the billing rows it touches.
public struct RepairExecutor: Sendable {
    public let verifier: CommandVerifier
    let logger: Logger

    /// The longest snooze: 7 days from when the command is processed.
    public static let maxSnoozeMs: Int64 = 7 * 24 * 3600 * 1000

    public init(verifier: CommandVerifier, logger: Logger) {
        self.verifier = verifier
        self.logger = logger
    }

    /// Executes `command` on `connection` (inside a transaction). The caller records the result,
    /// applies the records through the pipeline and writes the issue changes in the same transaction.
    public func execute(_ command: RepairCommand, nowMs: Int64, on connection: PostgresConnection) async throws
        -> RepairOutput
    {
        let processedAt = Timestamp.format(nowMs)
        let action = command.action ?? .repair
        func reject(_ code: RepairRejection, _ detail: String, action: String? = nil, remember: Bool = true)
            -> RepairOutput
        {
            RepairOutput(
                result: RepairResult(
                    commandId: command.commandId, issueId: command.issueId, outcome: .rejected, action: action,
                    rejection: code, detail: detail, processedAt: processedAt),
                records: [], issueChanges: [], remember: remember)
        }
        // A forged command is answered but never remembered, so it can neither see nor squat an id.
        if let rejection = verifier.signatureRejection(of: command) {
            return reject(rejection.code, rejection.detail, remember: false)
        }
        // Serialize the same command id across workers before looking for an earlier result.
        try await RepairRepository.lock("command:" + command.commandId, on: connection, logger: logger)
        if let earlier = try await ProcessedCommandRepository.find(
            commandId: command.commandId, on: connection, logger: logger)
        {
            var repeated = earlier
            repeated.outcome = .duplicate
            repeated.processedAt = processedAt
            return RepairOutput(result: repeated, records: [], issueChanges: [], remember: false)
        }
        if let rejection = verifier.rejection(of: command, nowMs: nowMs) {
            return reject(rejection.code, rejection.detail)
        }
        guard let issue = try await IssueRepository.lockOne(issueId: command.issueId, on: connection, logger: logger)
        else {
            return reject(.notFound, "no issue '\(command.issueId)' is known")
        }
        guard issue.status == .open else {
            return reject(.notOpen, "issue is \(issue.status.rawValue) (\(issue.resolution?.rawValue ?? "no resolution"))")
        }
        // The issue's own check and user, from the stored issue: the change names no check by guessing.
        func change(_ kind: IssueChange.Kind) -> IssueChange {
            IssueChange(
                issueId: issue.issueId, check: issue.check, userId: issue.userId, kind: kind, atMs: nowMs,
                cause: .command(commandId: command.commandId))
        }
        if action == .explain {
            let explanation = Explanation(
                note: command.reason, actor: command.actor.id, commandId: command.commandId, at: processedAt)
            return RepairOutput(
                result: RepairResult(
                    commandId: command.commandId, issueId: command.issueId, outcome: .explained, action: "explain",
                    processedAt: processedAt),
                records: [], issueChanges: [change(.explain(explanation))], remember: true)
        }
        switch action {
        case .ack:
            let acknowledgement = Acknowledgement(
                actor: command.actor.id, note: command.reason, commandId: command.commandId, at: processedAt)
            return RepairOutput(
                result: RepairResult(
                    commandId: command.commandId, issueId: command.issueId, outcome: .acknowledged, action: "ack",
                    processedAt: processedAt),
                records: [], issueChanges: [change(.acknowledge(acknowledgement))], remember: true)
        case .snooze:
            let until = command.until ?? ""
            guard let untilMs = Timestamp.parse(until) else {
                return reject(.invalid, "until '\(until)' is not an RFC 3339 timestamp", action: "snooze")
            }
            guard untilMs > nowMs else {
                return reject(.invalid, "until \(until) is not in the future", action: "snooze")
            }
            guard untilMs - nowMs <= Self.maxSnoozeMs else {
                return reject(.invalid, "until \(until) is more than 7 days ahead", action: "snooze")
            }
            return RepairOutput(
                result: RepairResult(
                    commandId: command.commandId, issueId: command.issueId, outcome: .snoozed, action: "snooze",
                    processedAt: processedAt),
                records: [], issueChanges: [change(.snooze(until: until))], remember: true)
        case .repair, .explain:
            break
        }
        guard let repairAction = issue.repair?.action else {
            return reject(.notRepairable, "\(issue.check.rawValue) has no safe automated repair; explain it instead")
        }
        let context = BillingRepairs.Context(command: command, issue: issue, nowMs: nowMs, logger: logger)
        let dryRun = command.dryRun ?? false
        let planned: Result<RepairPlan, CommandVerifier.Rejection>
        do {
            planned = try await BillingRepairs.run(repairAction, context: context, apply: !dryRun, on: connection)
        } catch {
            logger.error("Repair failed", metadata: ["assure.error": "\(String(reflecting: error))"])
            throw error
        }
        switch planned {
        case .failure(let rejection):
            return reject(rejection.code, rejection.detail, action: repairAction.rawValue)
        case .success(let plan) where dryRun:
            return RepairOutput(
                result: RepairResult(
                    commandId: command.commandId, issueId: command.issueId, outcome: .dryRun,
                    action: repairAction.rawValue, plan: plan.plan, processedAt: processedAt),
                records: [], issueChanges: [], remember: true)
        case .success(let plan):
            return RepairOutput(
                result: RepairResult(
                    commandId: command.commandId, issueId: command.issueId, outcome: .applied,
                    action: repairAction.rawValue, audit: plan.audit, plan: plan.plan, processedAt: processedAt),
                records: plan.records, issueChanges: [change(.resolve(.repaired))], remember: true)
        }
    }
}
