import Foundation
import Persistence
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// `ack`, `snooze` and `explain` through the commands topic (the command processor), against a real
/// PostgreSQL: outcomes, rejections, duplicates, and how they bind to the evidence.
@Suite struct OnCallActionTests {
    @Test func ackAcknowledgesAnOpenIssue_leavesAlertsButNotGuardrails_andIgnoresDryRun() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await driver.openBalanceMismatch()
            let opened = try #require(try await driver.issue(id))
            #expect(opened.atRisk == AtRisk(credits: 100, direction: .leakage))
            #expect(AssuranceReport.isAlertWorthy(opened))
            let command = driver.signed(issueId: id, reason: "Looking into it; INC-7", dryRun: true, action: .ack)
            let result = try await driver.command(command)
            #expect(result.outcome == .acknowledged)
            #expect(result.action == "ack")
            let acked = try #require(try await driver.issue(id))
            #expect(acked.status == .open)
            #expect(acked.version == opened.version + 1)
            #expect(acked.cause == .command(commandId: command.commandId))
            #expect(
                acked.acknowledgement
                    == Acknowledgement(
                        actor: "admin_7", note: "Looking into it; INC-7", commandId: command.commandId,
                        at: Timestamp.format(driver.clock.now)))
            #expect(!AssuranceReport.isAlertWorthy(acked))
            let report = try await driver.report()
            #expect(report.summary.alertCount == 0)
            #expect(report.guardrails.first { $0.name == "creditsReconciled" }?.passed == false)
            #expect(report.issues.first?.acknowledgement?.commandId == command.commandId)
            // The same command again is a duplicate and changes nothing.
            let again = try await driver.command(command)
            #expect(again.outcome == .duplicate)
            #expect(try await driver.issue(id)?.version == acked.version)
        }
    }

    @Test func snoozeRejectsPastAndFarFutureTimes_andExpiresThroughTheSweeper() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await driver.openBalanceMismatch()
            let now = driver.clock.now
            let past = try await driver.command(
                driver.signed(issueId: id, action: .snooze, until: Timestamp.format(now - 1000)))
            #expect(past.outcome == .rejected)
            #expect(past.rejection == .invalid)
            let far = try await driver.command(
                driver.signed(issueId: id, action: .snooze, until: Timestamp.format(now + 7 * 86_400_000 + 1000)))
            #expect(far.rejection == .invalid)
            let missing = try await driver.command(driver.signed(issueId: id, action: .snooze))
            #expect(missing.rejection == .invalid)
            let until = Timestamp.format(now + 3_600_000)
            let snooze = driver.signed(issueId: id, action: .snooze, until: until)
            let result = try await driver.command(snooze)
            #expect(result.outcome == .snoozed)
            #expect(result.action == "snooze")
            let snoozed = try #require(try await driver.issue(id))
            #expect(snoozed.snoozedUntil == until)
            #expect(!AssuranceReport.isAlertWorthy(snoozed))
            // A sweep before the end changes nothing; after it, the next event clears the snooze.
            try await driver.sweeper.sweepOnce()
            #expect(try await driver.issue(id)?.version == snoozed.version)
            driver.clock.advance(by: 3_600_001)
            try await driver.sweeper.sweepOnce()
            let woke = try #require(try await driver.issue(id))
            #expect(woke.version == snoozed.version + 1)
            #expect(woke.snoozedUntil == nil)
            #expect(woke.cause == .timer)
            #expect(AssuranceReport.isAlertWorthy(woke))
        }
    }

    @Test func actionsAreRejectedOnResolvedOrUnknownIssues_andForUsers_andATamperedSnoozeEnd() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await driver.openBalanceMismatch()
            let user = try await driver.command(
                driver.signed(issueId: id, actor: .init(id: "u9", role: "USER"), action: .ack))
            #expect(user.rejection == .unauthorized)
            var tampered = driver.signed(
                issueId: id, action: .snooze, until: Timestamp.format(driver.clock.now + 60_000))
            tampered.until = Timestamp.format(driver.clock.now + 120_000)
            #expect(try await driver.command(tampered).rejection == .invalidSignature)
            #expect(try await driver.command(driver.signed(issueId: "credit-balance:nobody", action: .ack)).rejection == .notFound)
            #expect(try await driver.command(driver.signed(issueId: "nonsense", action: .ack)).rejection == .notFound)
            try await driver.consume([driver.scenario.account(credits: 1000, version: 2)])
            #expect(try await driver.issue(id)?.status == .resolved)
            let resolved = try await driver.command(driver.signed(issueId: id, action: .ack))
            #expect(resolved.rejection == .notOpen)
        }
    }

    @Test func anAcknowledgedDriftThatGrowsByLessThanTenPercentHolds_byMoreResurfaces() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await driver.openBalanceMismatch(credits: 1100)
            #expect(try await driver.command(driver.signed(issueId: id, action: .ack)).outcome == .acknowledged)
            // 100 → 110: exactly 10%, not more: the acknowledgement holds.
            try await driver.consume([driver.scenario.account(credits: 1110, version: 2)])
            let held = try #require(try await driver.issue(id))
            #expect(held.atRisk.credits == 110)
            #expect(held.acknowledgement != nil)
            #expect(!held.resurfaced)
            #expect(!AssuranceReport.isAlertWorthy(held))
            // 100 → 111: more than 10% over the value when it was acknowledged.
            try await driver.consume([driver.scenario.account(credits: 1111, version: 3)])
            let resurfaced = try #require(try await driver.issue(id))
            #expect(resurfaced.resurfaced)
            #expect(resurfaced.acknowledgement == nil)
            #expect(AssuranceReport.isAlertWorthy(resurfaced))
            // The next event is not resurfaced again; explaining binds to the evidence as it stands now.
            #expect(try await driver.command(driver.signed(issueId: id, action: .explain)).outcome == .explained)
            try await driver.consume([driver.scenario.account(credits: 1120, version: 4)])
            let explained = try #require(try await driver.issue(id))
            #expect(explained.explanation != nil)
            #expect(!explained.resurfaced)
            try await driver.consume([driver.scenario.account(credits: 1200, version: 5)])
            let grown = try #require(try await driver.issue(id))
            #expect(grown.resurfaced)
            #expect(grown.explanation == nil)
        }
    }

    @Test func aDuplicateSetThatGainsARowResurfaces_evenWhenTheAmountBarelyGrows() async throws {
        try await DatabaseDriver.with { driver in
            let s = driver.scenario
            try await driver.consume([
                s.ledger("a1", user: "ua", seq: 1, amount: 1000, balance: 1000, intent: "pi_dup", atMs: s.t0),
                s.ledger("b1", user: "ub", seq: 1, amount: 1000, balance: 1000, intent: "pi_dup", atMs: s.t0 + 1),
            ])
            let id = "duplicate-payment-intent:pi_dup"
            let opened = try #require(try await driver.issue(id))
            #expect(opened.atRisk == AtRisk(credits: 1000, direction: .leakage))
            #expect(try await driver.command(driver.signed(issueId: id, action: .ack)).outcome == .acknowledged)
            try await driver.consume([
                s.ledger("c1", user: "uc", seq: 1, amount: 1, balance: 1, intent: "pi_dup", atMs: s.t0 + 2)
            ])
            let grown = try #require(try await driver.issue(id))
            #expect(grown.atRisk.credits == 1001)
            #expect(grown.resurfaced)
            #expect(grown.acknowledgement == nil)
        }
    }

    @Test func aNewActionReplacesThePrevious_andAReopenedIssueStartsClean() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await driver.openBalanceMismatch()
            #expect(try await driver.command(driver.signed(issueId: id, action: .explain)).outcome == .explained)
            let until = Timestamp.format(driver.clock.now + 60_000)
            #expect(try await driver.command(driver.signed(issueId: id, action: .snooze, until: until)).outcome == .snoozed)
            let snoozed = try #require(try await driver.issue(id))
            #expect(snoozed.explanation == nil)
            #expect(snoozed.snoozedUntil == until)
            #expect(try await driver.command(driver.signed(issueId: id, action: .ack)).outcome == .acknowledged)
            let acked = try #require(try await driver.issue(id))
            #expect(acked.snoozedUntil == nil)
            #expect(acked.acknowledgement != nil)
            try await driver.consume([driver.scenario.account(credits: 1000, version: 2)])
            try await driver.consume([driver.scenario.account(credits: 1500, version: 3)])
            let reopened = try #require(try await driver.issue(id))
            #expect(reopened.status == .open)
            #expect(reopened.acknowledgement == nil)
            #expect(reopened.explanation == nil)
            #expect(reopened.snoozedUntil == nil)
            #expect(!reopened.resurfaced)
            #expect(AssuranceReport.isAlertWorthy(reopened))
        }
    }

    @Test func causeNamesTheRecord_theTimer_andTheCommand_andTheHistoryKeepsEveryVersionInOrder() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let s = driver.scenario
            try await driver.consume([s.ledger("u1_r1", seq: 1, amount: 1000, balance: 1000)])
            try await driver.consume([s.account(credits: 1100, version: 1)])
            try await driver.settle()
            let id = "credit-balance:u1"
            let opened = try #require(try await driver.issue(id))
            #expect(opened.cause == .timer)
            // The offset counter gave the account record offset 0 of partition 0.
            try await driver.consume([s.account(credits: 1200, version: 2)])
            #expect(try await driver.issue(id)?.cause == .record(topic: driver.settings.topics.accounts, partition: 0, offset: 1))
            let command = driver.signed(issueId: id, action: .ack)
            _ = try await driver.command(command)
            try await driver.consume([s.account(credits: 1000, version: 3)])
            let history = try await driver.history(id)
            #expect(history.map(\.version) == [1, 2, 3, 4])
            #expect(history.map(\.cause) == [
                .timer, .record(topic: driver.settings.topics.accounts, partition: 0, offset: 1),
                .command(commandId: command.commandId),
                .record(topic: driver.settings.topics.accounts, partition: 0, offset: 2),
            ])
            #expect(history.last?.status == .resolved)
        }
    }

    @Test func theSameAckOnTwoWorkersAtOnceIsAppliedOnceAndAnsweredDuplicateOnce() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await driver.openBalanceMismatch()
            let command = driver.signed(issueId: id, action: .ack)
            let value = Array(try JSONEncoder().encode(command))
            let other = CommandProcessor(
                client: driver.database.client, settings: driver.settings, logger: driver.env.logger,
                clock: { driver.clock.now })
            let topic = driver.settings.topics.commands
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (partition, processor) in [(Int32(1), driver.commands), (Int32(2), other)] {
                    group.addTask {
                        try await processor.process(
                            InboundRecord(topic: topic, partition: partition, offset: 0, key: Array(id.utf8), value: value))
                    }
                }
                try await group.waitForAll()
            }
            let results = try await driver.outbox(topic: driver.settings.topics.repairs).compactMap {
                try? JSONDecoder().decode(RepairResult.self, from: Data($0.value ?? []))
            }.filter { $0.commandId == command.commandId }
            #expect(results.map(\.outcome).sorted { $0.rawValue < $1.rawValue } == [.acknowledged, .duplicate])
            #expect(try await driver.history(id).filter { $0.acknowledgement != nil }.count == 1)
        }
    }
}
