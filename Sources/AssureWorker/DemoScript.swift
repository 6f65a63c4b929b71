import Consumers
import Foundation
import Logging
import Persistence
import PostgresNIO
import ServiceLifecycle
import Shared
import Synchronization
import TestSupport
import WorkerRuntime

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The demo's steps: traffic in, report, one repair of every repairable kind, report again, audit.
final class DemoScript: Service, Sendable {
    let run: DemoRun
    let apiPort: Int
    let nodes: [WorkerNode]
    let outcome = DemoOutcome()

    init(run: DemoRun, apiPort: Int, nodes: [WorkerNode]) {
        self.run = run
        self.apiPort = apiPort
        self.nodes = nodes
    }

    func run() async throws {
        do {
            try await script()
        } catch {
            outcome.fail(DemoRun.Failure(description: "\(error)"))
            return
        }
        if run.options.keepRunning { await keepServing() }
    }

    /// `--keep-running`: the workers stay up with their triage page until SIGINT or SIGTERM.
    func keepServing() async {
        print("""

            Triage page: http://127.0.0.1:\(apiPort)/
            Admin token: \(environment.adminToken)
            Kafka: bootstrap=\(environment.cluster.bootstrapServers)
            Open the page, paste the token; Ctrl-C stops the workers and removes everything.
            """)
        // The lines above are what a person or a test waits for; nothing may sit in a stdio buffer.
        fflush(nil)
        try? await gracefulShutdown()
    }

    var environment: DemoEnvironment { run.environment }
    var logger: Logger { run.logger }

    func script() async throws {
        for node in nodes { await node.ready.wait() }
        let options = run.options
        let traffic = BillingTraffic.generate(
            .init(
                users: options.users, eventsPerUser: options.eventsPerUser, seed: options.seed, endMs: WallClock.nowMs(),
                // At least a dozen users with faults of their own, so every kind shows up even in a small demo.
                faultEvery: max(2, min(97, options.users / 12))))
        let messages = traffic.messages(topics: environment.topics)
        print("Generated \(messages.count) input messages for \(traffic.users.count) users with \(traffic.expectedIssueIds.count) injected faults")
        try await Database.withDatabase(configuration: environment.database, logger: logger) { database in
            try await database.client.withConnection { connection in
                try await BillingTables.insert(traffic, on: connection, logger: logger)
            }
        }
        try await publish(messages)
        try await waitForConsumption(expected: messages.count)
        // Live inputs keep delivering: one tombstone (counted and skipped) on each input after the
        // traffic, so no check stays held on an input that merely went quiet (see Input health).
        let topics = environment.topics
        try await publish([topics.ledger, topics.accounts, topics.webhooks].map {
            OutboundMessage(topic: $0, key: "heartbeat", value: nil)
        })
        try await waitForConsumption(expected: messages.count + 3)
        try await waitForIssues(traffic.expectedIssueIds)
        let before = try await api(AssuranceReport.self, "GET", "/api/admin/billing-assurance?periodDays=45")
        print("\n" + ReportPrinter.render(before))
        let stripeChecks: Set<CheckKind> = [.stripePaidLocalFree, .localPaidStripeInactive, .paidInvoiceWithoutGrant]
        print("  Stripe checks (Stripe is the source of truth):")
        for issue in before.issues where stripeChecks.contains(issue.check) {
            print("    \(issue.severity.rawValue) \(issue.issueId): \(issue.title)")
        }
        if options.json { print(String(decoding: try jsonText(before), as: UTF8.self)) }
        let results = try await repairOneOfEach(before)
        let after = try await api(AssuranceReport.self, "GET", "/api/admin/billing-assurance?periodDays=45")
        print("\n" + ReportPrinter.render(after))
        let audit = try await Database.withDatabase(configuration: environment.database, logger: logger) { database in
            try await AuditRunner(client: database.client, settings: run.workerConfiguration(httpPort: 0).worker, logger: logger).run()
        }
        print("\nAudit: the batch oracle over the billing tables found \(audit.oracleIssues) open issues, the streaming state \(audit.streamingIssues)")
        for difference in audit.differences { print("  DIFF \(difference)") }
        print(audit.isClean ? "  audit clean: streaming state agrees with the batch oracle" : "  audit found \(audit.differences.count) differences")
        let applied = results.filter { $0.outcome == .applied }.count
        print("\nDemo summary: \(before.summary.openIssues) issues found, \(applied) repairs applied, audit \(audit.isClean ? "clean" : "NOT clean")")
        guard applied == RepairAction.allCases.count else {
            throw DemoRun.Failure(description: "only \(applied) of \(RepairAction.allCases.count) repairs were applied")
        }
        guard audit.isClean else { throw DemoRun.Failure(description: "audit found differences") }
    }

    func publish(_ messages: [OutboundMessage]) async throws {
        let producer = try KafkaProducer(
            configuration: KafkaConfiguration(bootstrapServers: [environment.cluster.bootstrapServers], clientID: "assure-demo-traffic"),
            logger: logger)
        var sent = 0
        for chunk in stride(from: 0, to: messages.count, by: 5000).map({ messages[$0..<min($0 + 5000, messages.count)] }) {
            for result in await producer.send(Array(chunk)) { _ = try result.get() }
            sent += chunk.count
            print("  published \(sent)/\(messages.count)")
        }
        await producer.shutdown()
    }

    func waitForConsumption(expected: Int) async throws {
        let inputs = environment.topics.inputs
        let deadline = ContinuousClock.now + .seconds(300)
        var lastPrinted = -1
        try await Database.withDatabase(configuration: environment.database, logger: logger) { database in
            while ContinuousClock.now < deadline {
                let consumed = Int(
                    try await database.client.withConnection { [logger] connection in
                        try await ReportRepository.consumedRecords(topics: inputs, on: connection, logger: logger)
                    })
                if consumed != lastPrinted {
                    print("  consumed \(consumed)/\(expected)")
                    lastPrinted = consumed
                }
                if consumed >= expected { return }
                try await Task.sleep(for: .milliseconds(500))
            }
            throw DemoRun.Failure(description: "workers consumed only \(lastPrinted) of \(expected) messages in 5 minutes")
        }
    }

    func waitForIssues(_ expected: Set<String>) async throws {
        print("Waiting for the settle time (\(run.options.settleMs) ms) and the sweeper …")
        let deadline = ContinuousClock.now + .seconds(60)
        try await Database.withDatabase(configuration: environment.database, logger: logger) { database in
            var missing = expected
            while ContinuousClock.now < deadline {
                let open = try await database.client.withConnection { connection in
                    try await IssueRepository.open(on: connection, logger: logger)
                }
                missing = expected.subtracting(open.map(\.issueId))
                if missing.isEmpty {
                    print("  all \(expected.count) injected faults detected (\(open.count) open issues in all)")
                    return
                }
                try await Task.sleep(for: .milliseconds(500))
            }
            throw DemoRun.Failure(description: "injected faults not detected: \(missing.sorted().joined(separator: ", "))")
        }
    }

    func repairOneOfEach(_ report: AssuranceReport) async throws -> [RepairResult] {
        print("\nRepairing one issue of every repairable kind through POST /api/admin/billing-assurance …")
        var results: [RepairResult] = []
        for action in RepairAction.allCases {
            guard let issue = report.issues.first(where: { $0.repair?.action == action }) else {
                print("  no open issue to \(action.rawValue)")
                continue
            }
            let body: [String: String] = ["issueId": issue.issueId, "reason": "Demo: \(action.rawValue) after review"]
            let result = try await api(RepairResult.self, "POST", "/api/admin/billing-assurance", body: body)
            let audit = result.audit.map { "\($0.table)/\($0.id)" }.joined(separator: ", ")
            print("  \(action.rawValue) \(issue.issueId): \(result.outcome.rawValue)\(result.rejection.map { " (\($0.rawValue): \(result.detail ?? ""))" } ?? "") audit: \(audit.isEmpty ? "-" : audit)")
            results.append(result)
        }
        return results
    }

    func api<T: Decodable>(_ type: T.Type, _ method: String, _ path: String, body: [String: String]? = nil) async throws -> T {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(apiPort)\(path)")!)
        request.httpMethod = method
        request.setValue("Bearer \(environment.adminToken)", forHTTPHeaderField: "Authorization")
        if let body {
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.httpBody = try JSONEncoder().encode(body)
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            throw DemoRun.Failure(
                description: "\(method) \(path) answered \((response as? HTTPURLResponse)?.statusCode ?? 0): \(String(decoding: data, as: UTF8.self))")
        }
        return try JSONDecoder().decode(T.self, from: data)
    }

    func jsonText(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }
}

/// Whether the demo's script failed, read after the service group ends.
final class DemoOutcome: Sendable {
    private let state = Mutex<DemoRun.Failure?>(nil)
    func fail(_ failure: DemoRun.Failure) { state.withLock { $0 = failure } }
    var failure: DemoRun.Failure? { state.withLock { $0 } }
}
