import Foundation
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Cluster-wide alert decisions in PostgreSQL: one alert per set and window however many workers evaluate,
/// published through the outbox so a crash between deciding and publishing loses nothing.
@Suite struct AlertEvaluatorTests {
    static func evaluators(_ driver: DatabaseDriver, count: Int) -> [AlertEvaluator] {
        (0..<count).map { _ in
            AlertEvaluator(
                client: driver.database.client, settings: driver.settings, wakeup: WakeupSignal(),
                relayWakeup: WakeupSignal(), logger: driver.env.logger, clock: { driver.clock.now })
        }
    }

    @Test func threeWorkersEvaluatingTheSameSetConcurrentlyEmitOneAlert() async throws {
        try await DatabaseDriver.with { driver in
            _ = try await RepairCommandTests.seed(driver)
            let evaluators = Self.evaluators(driver, count: 3)
            _ = try await evaluators[0].evaluateOnce()
            driver.clock.advance(by: driver.settings.alertGroupWaitMs)
            for _ in 0..<3 {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for evaluator in evaluators { group.addTask { _ = try await evaluator.evaluateOnce() } }
                    try await group.waitForAll()
                }
            }
            let alerts = try await driver.outbox(topic: driver.settings.topics.alerts).map {
                try JSONDecoder().decode(AlertEvent.self, from: Data($0.value ?? []))
            }
            #expect(alerts.count == 1)
            let open = try await driver.openIssues()
            let worthy = AlertPolicy.alertWorthy(open).map(\.issueId).sorted()
            // Listed the highest severity first, then by id (the contract's order).
            let listed = AlertPolicy.alertWorthy(open).sorted { ($1.severity, $0.issueId) < ($0.severity, $1.issueId) }
                .map(\.issueId)
            #expect(alerts.first?.issueIds == listed)
            #expect(alerts.first?.issueIdsTruncated == false)
            #expect(alerts.first?.issueCount == worthy.count)
            #expect(alerts.first?.fingerprint == AlertPolicy.fingerprint(of: worthy))
            #expect(alerts.first?.severity == .critical)
        }
    }

    @Test func anExplainedIssueLeavesTheSetAndTheNextAlertLeavesItOut() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await RepairCommandTests.seed(driver)
            let evaluator = Self.evaluators(driver, count: 1)[0]
            _ = try await evaluator.evaluateOnce()
            driver.clock.advance(by: driver.settings.alertGroupWaitMs)
            _ = try await evaluator.evaluateOnce()
            let gap = RepairCommandTests.issueId(traffic, .ledgerSequenceGap)
            let result = try await driver.command(driver.signed(issueId: gap, reason: "Row lost in migration; INC-42", action: .explain))
            #expect(result.outcome == .explained)
            let explained = try #require(try await driver.issue(gap))
            #expect(explained.status == .open)
            #expect(explained.explanation?.note == "Row lost in migration; INC-42")
            #expect(explained.explanation?.commandId == result.commandId)
            _ = try await evaluator.evaluateOnce()
            driver.clock.advance(by: driver.settings.alertGroupWaitMs)
            _ = try await evaluator.evaluateOnce()
            let alerts = try await driver.outbox(topic: driver.settings.topics.alerts).map {
                try JSONDecoder().decode(AlertEvent.self, from: Data($0.value ?? []))
            }
            #expect(alerts.count == 2)
            #expect(alerts.first?.issueIds.contains(gap) == true)
            #expect(alerts.last?.issueIds.contains(gap) == false)
        }
    }

    @Test func explainingRejectsUsersForgeriesBlankNotesAndUnknownOrResolvedIssues() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await RepairCommandTests.seed(driver)
            let gap = RepairCommandTests.issueId(traffic, .ledgerSequenceGap)
            func explain(_ command: RepairCommand) async throws -> RepairRejection? {
                let result = try await driver.command(command)
                return result.rejection
            }
            #expect(try await explain(driver.signed(issueId: gap, actor: .init(id: "u", role: "USER"), action: .explain)) == .unauthorized)
            var forged = driver.signed(issueId: gap, action: .explain)
            forged.action = .repair
            #expect(try await explain(forged) == .invalidSignature)
            #expect(try await explain(driver.signed(issueId: gap, reason: " ", action: .explain)) == .invalid)
            #expect(try await explain(driver.signed(issueId: "ledger-gap:nobody:1", action: .explain)) == .notFound)
            let balance = RepairCommandTests.issueId(traffic, .creditBalanceMismatch)
            #expect(try await driver.command(driver.signed(issueId: balance)).outcome == .applied)
            #expect(try await explain(driver.signed(issueId: balance, action: .explain)) == .notOpen)
        }
    }

    @Test func reportGuardrailsPassOnceEveryCriticalIssueIsRepairedOrExplained() async throws {
        try await DatabaseDriver.with { driver in
            _ = try await RepairCommandTests.seed(driver)
            let reports = ReportQuery(client: driver.database.client, settings: driver.settings, logger: driver.env.logger)
            let before = try await reports.report(nowMs: driver.clock.now)
            #expect(before.summary.status == "critical")
            #expect(before.guardrails.first { $0.name == "noUnexplainedCritical" }?.passed == false)
            for issue in before.issues {
                let action: CommandAction = issue.repair == nil ? .explain : .repair
                let result = try await driver.command(driver.signed(issueId: issue.issueId, reason: "Closeout INC-7", action: action))
                #expect([.applied, .explained].contains(result.outcome), "\(issue.issueId): \(result.rejection?.rawValue ?? "")")
            }
            let after = try await reports.report(nowMs: driver.clock.now)
            #expect(after.summary.alertCount == 0)
            let failing = after.guardrails.filter { !$0.passed }
            #expect(failing.isEmpty, "\(failing)")
            #expect(after.summary.explainedCount == after.issues.count)
        }
    }
}
