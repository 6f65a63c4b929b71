import Foundation
import Persistence
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The command-line tool against a running worker process: repair, explain, report and audit.
@Suite struct CommandLineTests {
    @Test func repairAndExplainFromTheCommandLineChangeTheTablesAndTheIssues() async throws {
        let env = try await WorkerTestEnvironment.make()
        let traffic = BillingTraffic.generate(.init(users: 120, eventsPerUser: 6, seed: 5, endMs: WallClock.nowMs(), faultEvery: 11))
        let worker = try ChildWorker(env: env, settleMs: 300)
        try await env.withDatabase { database in
            _ = try await database.migrate()
            try await database.client.withConnection { try await BillingTables.insert(traffic, on: $0, logger: env.logger) }
        }
        let messages = traffic.messages(topics: env.topics)
        try await env.publish(messages)
        try worker.start()
        do {
            // The inputs deliver again once the traffic is in, so nothing stays held.
            try await WorkerProbe.waitForConsumption(env, count: messages.count)
            try await env.publishHeartbeat()
            try await exercise(env: env, traffic: traffic, worker: worker)
            await worker.terminate()
        } catch {
            await worker.terminate()
            throw error
        }
    }

    func exercise(env: WorkerTestEnvironment, traffic: BillingTraffic, worker: ChildWorker) async throws {
        let balance = traffic.expectedIssueIds.first { $0.hasPrefix("credit-balance:") }!
        let gap = traffic.expectedIssueIds.first { $0.hasPrefix("ledger-gap:") }!
        try await WorkerProbe.poll(env, timeout: .seconds(90), "the injected issues") { connection in
            let open = try await IssueRepository.open(on: connection, logger: env.logger).map(\.issueId)
            return traffic.expectedIssueIds.isSubset(of: Set(open))
        }

        let dryRun = try await worker.runCommand(["repair", balance, "--reason", "Check first", "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.output)")
        #expect(dryRun.output.contains("\"outcome\" : \"dry_run\""))
        let repair = try await worker.runCommand(["repair", balance, "--reason", "Reconciled after review", "--actor", "admin_7"])
        #expect(repair.status == 0, "\(repair.output)")
        #expect(repair.output.contains("\"outcome\" : \"applied\""))
        let explain = try await worker.runCommand(["explain", gap, "--note", "Lost in the 2026-11 migration; INC-42"])
        #expect(explain.status == 0, "\(explain.output)")
        let refused = try await worker.runCommand(["repair", gap, "--reason", "no such repair"])
        #expect(refused.status != 0)
        #expect(refused.output.contains("not_repairable"))

        let userId = String(balance.dropFirst("credit-balance:".count))
        try await env.withDatabase { database in
            let rows = try await database.client.query(
                "SELECT count(*) FROM credit_transactions WHERE user_id = \(userId) AND type = 'AUDIT' AND actor = 'admin_7'")
            for try await count in rows.decode(Int64.self) { #expect(count == 1) }
            let issues = try await database.client.withConnection { connection in
                (try await IssueRepository.find(issueId: balance, on: connection, logger: env.logger),
                 try await IssueRepository.find(issueId: gap, on: connection, logger: env.logger))
            }
            #expect(issues.0?.resolution == .repaired)
            #expect(issues.1?.status == .open)
            #expect(issues.1?.explanation?.note == "Lost in the 2026-11 migration; INC-42")
        }

        let report = try await worker.runCommand(["report", "--json"])
        #expect(report.status == 0, "\(report.output)")
        let parsed = try JSONDecoder().decode(AssuranceReport.self, from: Data(report.output.utf8))
        #expect(parsed.summary.explainedCount == 1)
        #expect(!parsed.issues.contains { $0.issueId == balance })
        let table = try await worker.runCommand(["report"])
        #expect(table.output.contains("guardrails:"))
    }
}
