import Foundation
import Persistence
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// `assure-worker gate` and `assure-worker watch` as child processes.
@Suite struct OnCallCommandLineTests {
    @Test func gateExitsZeroWhenItPasses_twoWhenBlocked_withOneLinePerBlocker() async throws {
        let env = try await WorkerTestEnvironment.make(createTopics: false)
        let child = try ChildWorker(env: env, settleMs: 0)
        try await env.withDatabase { database in
            _ = try await database.migrate()
            let driver = DatabaseDriver(
                env: env, database: database, settings: env.settings(settleMs: 0), clock: TestClock(now: WallClock.nowMs()))
            _ = try await driver.openBalanceMismatch()
            let pass = try await child.runCommand(["gate"])
            #expect(pass.status == 0, "\(pass.output)")
            #expect(pass.output.contains("release gate: pass"))
            try await driver.consume([driver.scenario.account(user: "u2", tier: .team, credits: 0, customer: nil, version: 1)])
            let blocked = try await child.runCommand(["gate"])
            #expect(blocked.status == 2, "\(blocked.output)")
            #expect(blocked.output.contains("paid-without-customer:u2: unexplained_critical\nrelease gate: blocked (1)"))
            let json = try await child.runCommand(["gate", "--json"])
            #expect(json.status == 2)
            let line = try #require(json.output.split(separator: "\n").first { $0.hasPrefix("{") })
            let answer = try JSONDecoder().decode(ReleaseGate.self, from: Data(line.utf8))
            #expect(answer.blockers == [.init(issueId: "paid-without-customer:u2", reason: .unexplainedCritical)])
        }
        var broken = child.environment
        broken["ASSURE_DATABASE_URL"] = "not a url"
        let error = try await ChildWorker.run(child.executable, ["gate"], environment: broken)
        #expect(error.status == 1, "\(error.output)")
    }

    @Test func gateIsBlockedByAnOpenInputStall() async throws {
        let env = try await WorkerTestEnvironment.make(createTopics: false)
        let child = try ChildWorker(env: env, settleMs: 0)
        try await env.withDatabase { database in
            _ = try await database.migrate()
            let driver = DatabaseDriver(
                env: env, database: database, settings: env.settings(settleMs: 0), clock: TestClock(now: WallClock.nowMs()))
            let stall = try await driver.openAccountsStall()
            let blocked = try await child.runCommand(["gate"])
            #expect(blocked.status == 2, "\(blocked.output)")
            #expect(blocked.output.contains("\(stall): input_stalled\nrelease gate: blocked (1)"), "\(blocked.output)")
        }
    }

    @Test func watchPrintsTheScenarioInOrder_filtered_andItsJSONLinesParse() async throws {
        let env = try await WorkerTestEnvironment.make(partitions: 1)
        let child = try ChildWorker(env: env, settleMs: 0)
        let encoder = JSONEncoder()
        func issue(_ id: String, _ check: CheckKind, user: String, version: Int64) -> IssueEvent {
            IssueEvent(
                issueId: id, version: version, status: .open, check: check, userId: user, title: "t \(id)",
                evidence: [:], repair: nil, firstSeenAt: "2026-11-20T10:00:00Z", lastSeenAt: "2026-11-20T10:00:00Z",
                atRisk: check.atRisk(evidence: [:]))
        }
        let events = [
            issue("credit-balance:u1", .creditBalanceMismatch, user: "u1", version: 1),
            issue("paid-without-customer:u2", .paidTierWithoutCustomer, user: "u2", version: 1),
            issue("credit-balance:u1", .creditBalanceMismatch, user: "u1", version: 2),
        ]
        var messages = try events.map {
            OutboundMessage(topic: env.topics.issues, key: Array($0.issueId.utf8), value: Array(try encoder.encode($0)))
        }
        let result = RepairResult(
            commandId: "cmd_w", issueId: "credit-balance:u1", outcome: .acknowledged, action: "ack",
            processedAt: "2026-11-20T10:00:01Z")
        messages.append(
            OutboundMessage(topic: env.topics.repairs, key: Array("cmd_w".utf8), value: Array(try encoder.encode(result))))
        try await env.publish(messages)

        let plain = try await Self.watch(child, ["--from-beginning", "--user", "u1"], lines: 3)
        #expect(plain.count == 3, "\(plain)")
        let issueLines = plain.filter { $0.contains(" issue ") }
        #expect(issueLines.count == 2)
        #expect(issueLines.first?.contains("credit-balance:u1 v1") == true)
        #expect(issueLines.last?.contains("credit-balance:u1 v2") == true)
        #expect(plain.contains { $0.contains("repair cmd_w credit-balance:u1 acknowledged") })
        #expect(!plain.contains { $0.contains("u2") })

        let json = try await Self.watch(child, ["--from-beginning", "--json", "--severity", "critical"], lines: 1)
        #expect(json.count == 1, "\(json)")
        let object = try JSONSerialization.jsonObject(with: Data(json[0].utf8)) as? [String: Any]
        #expect(object?["kind"] as? String == "issue")
        #expect((object?["event"] as? [String: Any])?["issueId"] as? String == "paid-without-customer:u2")
    }

    /// Runs `watch` until it printed `lines` lines (and a moment more, to see no extra one), then stops it.
    static func watch(_ child: ChildWorker, _ arguments: [String], lines: Int) async throws -> [String] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("assure-watch-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: url) }
        let output = try FileHandle(forWritingTo: url)
        defer { try? output.close() }
        let process = Process()
        process.executableURL = child.executable
        process.arguments = ["watch"] + arguments
        process.environment = child.environment
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        func read() -> [String] {
            String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self).split(separator: "\n").map(String.init)
        }
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, read().count < lines {
            try await Task.sleep(for: .milliseconds(100))
        }
        // Nothing more is due: wait a little to catch a line that should not be there.
        try await Task.sleep(for: .milliseconds(500))
        return read()
    }
}
