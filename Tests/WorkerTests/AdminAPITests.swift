import AdminAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import Prometheus
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// Every route of the admin API through HummingbirdTesting, over a seeded database.
@Suite struct AdminAPITests {
    static let adminToken = "admin-secret"
    static let userToken = "user-secret"

    static func dependencies(_ driver: DatabaseDriver) throws -> AdminAPIDependencies {
        let tokens = try AdminTokens.parse(
            """
            # test tokens
            \(AdminTokens.hash(token: adminToken)) admin_7 ADMIN
            \(AdminTokens.hash(token: userToken)) user_1 USER
            """)
        let status = WorkerStatus()
        status.setConsuming(true)
        let commands = driver.commands
        let offsets = driver.offsets
        return AdminAPIDependencies(
            tokens: tokens,
            reports: ReportQuery(client: driver.database.client, settings: driver.settings, logger: driver.env.logger),
            settings: driver.settings,
            // The worker side of the commands topic: the real command processor consumes what the API publishes.
            publishCommand: { message in
                try await commands.process(
                    InboundRecord(
                        topic: message.topic, partition: 0, offset: offsets.next(message.topic), key: message.key,
                        value: message.value))
            },
            databaseReachable: { true }, status: status, registry: PrometheusCollectorRegistry(), resultWaitMs: 5000,
            clock: { driver.clock.now }, logger: driver.env.logger)
    }

    static func withApp(_ driver: DatabaseDriver, _ test: @Sendable (any TestClientProtocol) async throws -> Void)
        async throws
    {
        let app = Application(router: AdminRouter.build(try dependencies(driver)))
        try await app.test(.router, test)
    }

    static func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    static func json(_ object: [String: Any]) -> ByteBuffer {
        ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
    }

    @Test func theReportOverASeededDatabaseHasTheExpectedNumbers() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await RepairCommandTests.seed(driver)
            try await Self.withApp(driver) { client in
                try await client.execute(uri: "/api/admin/billing-assurance?periodDays=45", method: .get, headers: Self.bearer(Self.adminToken)) { response in
                    #expect(response.status == .ok)
                    let report = try JSONDecoder().decode(AssuranceReport.self, from: Data(buffer: response.body))
                    let expected = traffic.expectedIssueIds
                    #expect(Set(report.issues.map(\.issueId)) == expected)
                    #expect(report.summary.status == "critical")
                    #expect(report.summary.checkedUsers == Int64(traffic.users.count))
                    #expect(report.summary.ledgerRows == Int64(traffic.ledger.count))
                    #expect(report.summary.webhookEvents == Int64(traffic.webhooks.count))
                    #expect(report.summary.failedPlanGates == 1)
                    let checks = expected.compactMap(CheckKind.of(issueId:))
                    #expect(report.summary.revenueImpactingCount == checks.filter(\.revenueImpacting).count)
                    #expect(report.summary.repairableCount == checks.filter { $0.repairAction != nil }.count)
                    #expect(report.summary.alertCount == checks.filter { $0.revenueImpacting && $0.severity >= .error }.count)
                    #expect(report.summary.explainedCount == 0)
                    #expect(report.guardrails.contains { $0.name == "replaySafe" && !$0.passed })
                }
                // A 400-day period is out of range; a long period clears the stale subscription.
                try await client.execute(uri: "/api/admin/billing-assurance?periodDays=400", method: .get, headers: Self.bearer(Self.adminToken)) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains("periodDays"))
                }
                try await client.execute(uri: "/api/admin/billing-assurance?periodDays=365", method: .get, headers: Self.bearer(Self.adminToken)) { response in
                    let report = try JSONDecoder().decode(AssuranceReport.self, from: Data(buffer: response.body))
                    #expect(!report.issues.contains { $0.check == .stalePaidSubscription })
                }
            }
        }
    }

    @Test func authenticationAnswers401WithoutOrWithAnUnknownTokenAnd403ForUsers() async throws {
        try await DatabaseDriver.with { driver in
            try await Self.withApp(driver) { client in
                for headers in [HTTPFields(), Self.bearer("nope")] {
                    try await client.execute(uri: "/api/admin/billing-assurance", method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized)
                        #expect(String(buffer: response.body).contains("\"error\""))
                    }
                }
                try await client.execute(uri: "/api/admin/billing-assurance", method: .get, headers: Self.bearer(Self.userToken)) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/api/admin/billing-assurance", method: .post, headers: Self.bearer(Self.userToken), body: Self.json(["issueId": "x", "reason": "y"])) { response in
                    #expect(response.status == .forbidden)
                }
            }
        }
    }

    @Test func repairsThroughPostAndRejectsBadRequests() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await RepairCommandTests.seed(driver)
            let balance = RepairCommandTests.issueId(traffic, .creditBalanceMismatch)
            let gap = RepairCommandTests.issueId(traffic, .ledgerSequenceGap)
            try await Self.withApp(driver) { client in
                let admin = Self.bearer(Self.adminToken)
                try await client.execute(uri: "/api/admin/billing-assurance", method: .post, headers: admin, body: ByteBuffer(string: "{not json")) { response in
                    #expect(response.status == .badRequest)
                }
                try await client.execute(uri: "/api/admin/billing-assurance", method: .post, headers: admin, body: Self.json(["issueId": balance, "reason": "  "])) { response in
                    #expect(response.status == .badRequest)
                    #expect(String(buffer: response.body).contains("reason"))
                }
                try await client.execute(uri: "/api/admin/billing-assurance", method: .post, headers: admin, body: Self.json(["issueId": "credit-balance:nobody", "reason": "x"])) { response in
                    #expect(response.status == .notFound)
                }
                try await client.execute(uri: "/api/admin/billing-assurance", method: .post, headers: admin, body: Self.json(["issueId": gap, "reason": "x"])) { response in
                    #expect(response.status == .badRequest)
                }
                try await client.execute(uri: "/api/admin/billing-assurance", method: .post, headers: admin, body: Self.json(["issueId": balance, "reason": "Dry run first", "dryRun": true])) { response in
                    #expect(response.status == .ok)
                    let result = try JSONDecoder().decode(RepairResult.self, from: Data(buffer: response.body))
                    #expect(result.outcome == .dryRun)
                }
                try await client.execute(uri: "/api/admin/billing-assurance", method: .post, headers: admin, body: Self.json(["issueId": balance, "reason": "Reconciled after Stripe webhook replay review"])) { response in
                    #expect(response.status == .ok)
                    let result = try JSONDecoder().decode(RepairResult.self, from: Data(buffer: response.body))
                    #expect(result.outcome == .applied)
                    #expect(result.audit.first?.table == "credit_transactions")
                }
                try await client.execute(uri: "/api/admin/billing-assurance", method: .post, headers: admin, body: Self.json(["issueId": gap, "reason": "Known migration loss INC-9", "action": "explain"])) { response in
                    #expect(response.status == .ok)
                    let result = try JSONDecoder().decode(RepairResult.self, from: Data(buffer: response.body))
                    #expect(result.outcome == .explained)
                }
            }
            #expect(try await driver.issue(balance)?.resolution == .repaired)
            #expect(try await driver.issue(gap)?.explanation?.note == "Known migration loss INC-9")
        }
    }

    @Test func replayReadinessListsTheOpenIssuesTouchingTheIds() async throws {
        try await DatabaseDriver.with { driver in
            let traffic = try await RepairCommandTests.seed(driver)
            let missing = RepairCommandTests.issueId(traffic, .missingIdempotencyRecord)
            let eventId = String(missing.dropFirst("webhook-missing:".count))
            try await Self.withApp(driver) { client in
                let admin = Self.bearer(Self.adminToken)
                try await client.execute(uri: "/api/admin/billing-assurance/replay-readiness?eventId=\(eventId)&paymentIntentId=pi_dup_1", method: .get, headers: admin) { response in
                    let answer = try JSONDecoder().decode(ReplayReadiness.self, from: Data(buffer: response.body))
                    #expect(!answer.ready)
                    #expect(Set(answer.blockers.map(\.issueId)) == [missing, "duplicate-payment-intent:pi_dup_1"])
                }
                try await client.execute(uri: "/api/admin/billing-assurance/replay-readiness?eventId=evt_0_1", method: .get, headers: admin) { response in
                    let answer = try JSONDecoder().decode(ReplayReadiness.self, from: Data(buffer: response.body))
                    #expect(answer.ready)
                    #expect(answer.blockers.isEmpty)
                }
                try await client.execute(uri: "/api/admin/billing-assurance/replay-readiness", method: .get, headers: admin) { response in
                    #expect(response.status == .badRequest)
                }
            }
        }
    }

    @Test func healthReadinessAndMetrics() async throws {
        try await DatabaseDriver.with { driver in
            try await Self.withApp(driver) { client in
                try await client.execute(uri: "/healthz", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
                }
            }
        }
    }
}
