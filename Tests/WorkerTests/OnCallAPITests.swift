import AdminAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The on-call routes through HummingbirdTesting: ack and snooze by POST, command results, the issue
/// history, the release gate and the user timeline.
@Suite struct OnCallAPITests {
    static let admin = AdminAPITests.bearer(AdminAPITests.adminToken)
    static let base = "/api/admin/billing-assurance"

    static func object(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    @Test func ackAndSnoozeByPost_andTheCommandResultEndpoint() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await driver.openBalanceMismatch()
            try await AdminAPITests.withApp(driver) { client in
                try await client.execute(uri: "\(Self.base)/commands/cmd_unknown", method: .get, headers: Self.admin) {
                    #expect($0.status == .notFound)
                }
                var commandId = ""
                try await client.execute(
                    uri: Self.base, method: .post, headers: Self.admin,
                    body: AdminAPITests.json(["issueId": id, "reason": "On it; INC-5", "action": "ack"])
                ) { response in
                    #expect(response.status == .ok)
                    let result = try JSONDecoder().decode(RepairResult.self, from: Data(buffer: response.body))
                    #expect(result.outcome == .acknowledged)
                    commandId = result.commandId
                }
                try await client.execute(uri: "\(Self.base)/commands/\(commandId)", method: .get, headers: Self.admin) { response in
                    #expect(response.status == .ok)
                    let body = try Self.object(response)
                    #expect(body["outcome"] as? String == "acknowledged")
                }
                try await client.execute(
                    uri: Self.base, method: .post, headers: Self.admin,
                    body: AdminAPITests.json(["issueId": id, "reason": "later", "action": "snooze"])
                ) { #expect($0.status == .badRequest) }
                let until = Timestamp.format(driver.clock.now + 600_000)
                try await client.execute(
                    uri: Self.base, method: .post, headers: Self.admin,
                    body: AdminAPITests.json(["issueId": id, "reason": "Backfill running", "action": "snooze", "until": until])
                ) { response in
                    let result = try JSONDecoder().decode(RepairResult.self, from: Data(buffer: response.body))
                    #expect(result.outcome == .snoozed)
                }
                try await client.execute(
                    uri: Self.base, method: .post, headers: Self.admin,
                    body: AdminAPITests.json([
                        "issueId": id, "reason": "too long", "action": "snooze",
                        "until": Timestamp.format(driver.clock.now + 8 * 86_400_000),
                    ])
                ) { response in
                    let result = try JSONDecoder().decode(RepairResult.self, from: Data(buffer: response.body))
                    #expect(result.rejection == .invalid)
                }
                try await client.execute(uri: Self.base, method: .get, headers: Self.admin) { response in
                    let issues = try #require(try Self.object(response)["issues"] as? [[String: Any]])
                    #expect(issues.first?["snoozedUntil"] as? String == until)
                    #expect(issues.first?["acknowledgement"] is NSNull)
                    #expect((issues.first?["atRisk"] as? [String: Any])?["credits"] as? Int == 100)
                    #expect(issues.first?["userId"] as? String == "u1")
                    #expect(issues.first?["title"] as? String != nil)
                    let summary = try #require(try Self.object(response)["summary"] as? [String: Any])
                    #expect((summary["atRisk"] as? [String: Any])?["leakageCredits"] as? Int == 100)
                }
            }
        }
    }

    @Test func issueHistoryReturnsTheLatestEventAndEveryVersionWithItsCause_or404() async throws {
        try await DatabaseDriver.with { driver in
            let id = try await driver.openBalanceMismatch()
            let command = driver.signed(issueId: id, action: .ack)
            _ = try await driver.command(command)
            try await AdminAPITests.withApp(driver) { client in
                let encoded = id.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", "_"]))!
                #expect(encoded.contains("%3A"))
                try await client.execute(uri: "\(Self.base)/issues/\(encoded)", method: .get, headers: Self.admin) { response in
                    #expect(response.status == .ok)
                    let body = try Self.object(response)
                    #expect(body["issueId"] as? String == id)
                    #expect(body["version"] as? Int == 2)
                    let history = try #require(body["history"] as? [[String: Any]])
                    #expect(history.map { $0["version"] as? Int } == [1, 2])
                    #expect((history[0]["cause"] as? [String: Any])?["topic"] as? String == driver.settings.topics.accounts)
                    #expect((history[1]["cause"] as? [String: Any])?["commandId"] as? String == command.commandId)
                }
                try await client.execute(uri: "\(Self.base)/issues/credit-balance%3Anobody", method: .get, headers: Self.admin) {
                    #expect($0.status == .notFound)
                }
            }
        }
    }

    @Test func releaseGateBlocksOnCriticalUntilExplained_andOnPlanGatesEvenWhenExplained() async throws {
        try await DatabaseDriver.with { driver in
            _ = try await driver.openBalanceMismatch()
            try await AdminAPITests.withApp(driver) { client in
                func gate() async throws -> [String: Any] {
                    var body: [String: Any] = [:]
                    try await client.execute(uri: "\(Self.base)/release-gate", method: .get, headers: Self.admin) {
                        #expect($0.status == .ok)
                        body = try Self.object($0)
                    }
                    return body
                }
                #expect(try await gate()["pass"] as? Bool == true)
                try await driver.consume([driver.scenario.account(user: "u2", tier: .pro, credits: 0, customer: nil, version: 1)])
                let critical = "paid-without-customer:u2"
                let blocked = try await gate()
                #expect(blocked["pass"] as? Bool == false)
                #expect((blocked["blockers"] as? [[String: Any]])?.first?["reason"] as? String == "unexplained_critical")
                #expect((blocked["blockers"] as? [[String: Any]])?.first?["issueId"] as? String == critical)
                _ = try await driver.command(driver.signed(issueId: critical, action: .ack))
                #expect(try await gate()["pass"] as? Bool == false)
                _ = try await driver.command(driver.signed(issueId: critical, action: .explain))
                #expect(try await gate()["pass"] as? Bool == true)
                try await driver.consume([driver.scenario.gate("advanced_exports", [.free, .pro, .team])])
                _ = try await driver.command(driver.signed(issueId: "plan-gate:advanced_exports", action: .explain))
                let planGate = try await gate()
                #expect(planGate["pass"] as? Bool == false)
                #expect((planGate["blockers"] as? [[String: Any]])?.first?["reason"] as? String == "plan_gate_regression")
            }
        }
    }

    @Test func releaseGateBlocksOnAnOpenInputStall_whoseAmountAtRiskIsUnknown() async throws {
        try await DatabaseDriver.with { driver in
            let stall = try await driver.openAccountsStall()
            let issue = try #require(try await driver.issue(stall))
            #expect(issue.status == .open)
            #expect(issue.atRisk == AtRisk(credits: nil, direction: .unknown))
            // On the issues topic: `"atRisk": {"credits": null, "direction": "unknown"}`.
            let message = try #require(
                try await driver.outbox(topic: driver.settings.topics.issues).last { $0.key == Array(stall.utf8) })
            let json = try #require(
                try JSONSerialization.jsonObject(with: Data(message.value ?? [])) as? [String: Any])
            let atRisk = try #require(json["atRisk"] as? [String: Any])
            #expect(atRisk["credits"] is NSNull)
            #expect(atRisk["direction"] as? String == "unknown")
            try await AdminAPITests.withApp(driver) { client in
                try await client.execute(uri: "\(Self.base)/release-gate", method: .get, headers: Self.admin) {
                    #expect($0.status == .ok)
                    let body = try Self.object($0)
                    #expect(body["pass"] as? Bool == false)
                    let blockers = body["blockers"] as? [[String: Any]]
                    #expect(blockers?.count == 1)
                    #expect(blockers?.first?["issueId"] as? String == stall)
                    #expect(blockers?.first?["reason"] as? String == "input_stalled")
                }
            }
        }
    }

    @Test func timelineMergesTheSourcesOldestFirst_boundedByLimit_andIsEmptyForAnUnknownUser() async throws {
        try await DatabaseDriver.with { driver in
            let s = driver.scenario
            let t = s.t0
            // The billing tables as the app has them.
            let client = driver.database.client
            func at(_ ms: Int64) -> String { Timestamp.format(ms) }
            try await client.query(
                """
                INSERT INTO users (id, role, tier, credits, unlimited_credits, stripe_customer_id, updated_at, version)
                VALUES ('u1', 'USER', 'FREE', 1100, false, 'cus_t1', \(at(t + 5000))::timestamptz, 1)
                """)
            try await client.query(
                """
                INSERT INTO credit_transactions (id, user_id, seq, type, amount, balance_after, stripe_event_id, created_at)
                VALUES ('u1_r1', 'u1', 1, 'PURCHASE', 1000, 1000, 'evt_1', \(at(t))::timestamptz),
                       ('u1_r2', 'u1', 2, 'USAGE', -10, 990, NULL, \(at(t + 1000))::timestamptz),
                       ('u2_r1', 'u2', 1, 'PURCHASE', 5, 5, 'evt_2', \(at(t))::timestamptz)
                """)
            try await client.query(
                """
                INSERT INTO stripe_webhook_events (event_id, type, processed_at, source)
                VALUES ('evt_1', 'invoice.paid', \(at(t + 1000))::timestamptz, 'stripe'),
                       ('evt_2', 'invoice.paid', \(at(t + 2000))::timestamptz, 'stripe')
                """)
            try await client.query(
                """
                INSERT INTO subscription_audit (id, user_id, from_tier, to_tier, reason, actor, command_id, created_at)
                VALUES ('sa_1', 'u1', 'PRO', 'FREE', 'downgrade', 'admin_7', 'cmd_x', \(at(t + 3000))::timestamptz)
                """)
            try await client.query(
                """
                INSERT INTO assurance.stripe_events (customer_id, event_id, type, created_at, object_id, status)
                VALUES ('cus_t1', 'evt_s1', 'customer.subscription.updated', \(at(t + 4000))::timestamptz, 'sub_1',
                        'active'),
                       ('cus_other', 'evt_s2', 'customer.subscription.updated', \(at(t + 4000))::timestamptz, 'sub_2',
                        'active')
                """)
            let id = try await driver.openBalanceMismatch(credits: 1100)
            let command = driver.signed(issueId: id, action: .ack)
            _ = try await driver.command(command)
            try await AdminAPITests.withApp(driver) { http in
                try await http.execute(uri: "\(Self.base)/users/u1/timeline", method: .get, headers: Self.admin) { response in
                    #expect(response.status == .ok)
                    let body = try Self.object(response)
                    #expect(body["userId"] as? String == "u1")
                    let entries = try #require(body["entries"] as? [[String: Any]])
                    let kinds = entries.map { $0["kind"] as? String ?? "?" }
                    // Ledger at t, then ledger and webhook at t+1s (kind order), the audit row, the customer's
                    // Stripe event (not the other customer's), the users row,
                    // then the issue events and the command (processed now).
                    #expect(Array(kinds.prefix(6)) == ["ledger", "ledger", "webhook", "account", "stripe", "account"])
                    #expect(Set(kinds.dropFirst(6)) == ["issue", "command"])
                    #expect((entries[4]["data"] as? [String: Any])?["id"] as? String == "evt_s1")
                    #expect(kinds.filter { $0 == "issue" }.count == 2)
                    #expect(!entries.contains { ($0["data"] as? [String: Any])?["eventId"] as? String == "evt_2" })
                    let times = entries.compactMap { $0["at"] as? String }.map { Timestamp.parse($0)! }
                    #expect(times == times.sorted())
                    #expect((entries.last?["data"] as? [String: Any])?["commandId"] as? String == command.commandId
                        || (entries.last?["data"] as? [String: Any])?["issueId"] as? String == id)
                }
                try await http.execute(uri: "\(Self.base)/users/u1/timeline?limit=2", method: .get, headers: Self.admin) { response in
                    let entries = try #require(try Self.object(response)["entries"] as? [[String: Any]])
                    #expect(entries.count == 2)
                    #expect(Set(entries.map { $0["kind"] as? String ?? "?" }).isSubset(of: ["issue", "command"]))
                }
                try await http.execute(uri: "\(Self.base)/users/nobody/timeline", method: .get, headers: Self.admin) { response in
                    #expect(response.status == .ok)
                    let body = try Self.object(response)
                    #expect((body["entries"] as? [Any])?.isEmpty == true)
                }
                for limit in ["0", "1001", "x"] {
                    try await http.execute(uri: "\(Self.base)/users/u1/timeline?limit=\(limit)", method: .get, headers: Self.admin) {
                        #expect($0.status == .badRequest)
                    }
                }
            }
        }
    }
}
