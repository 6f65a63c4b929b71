import CheckPipeline
import Shared
import Testing

/// Feeds seeded random streams incrementally and compares the open issues with the batch oracle.
@Suite struct DifferentialTests {
    static let cases: UInt64 = 600
    static let users = 12

    struct Outcome {
        var incremental: [OpenIssue]
        var oracle: [OpenIssue]
        var keyViolations: [String]
        var deliveries: Int
        var fired: Set<CheckKind>
    }

    static func run(seed: UInt64, users: [Int]) -> Outcome {
        let deliveries = StreamGenerator.make(seed: seed, userIndices: users)
        let settings = StreamGenerator.settings
        let driver = PipelineDriver(settings: settings, startMs: deliveries.first?.atMs ?? 0)
        var lastTick = Int64.min
        for delivery in deliveries {
            if delivery.atMs >= lastTick &+ 2_000 {
                driver.advance(toMs: delivery.atMs)
                lastTick = delivery.atMs
            }
            driver.send(delivery.record, atMs: delivery.atMs)
        }
        driver.settleAll()
        var ledger: [LedgerRow] = []
        var accounts: [AccountSnapshot] = []
        var webhooks: [WebhookRecord] = []
        var gates: [PlanGate] = []
        var stripe: [StripeEvent] = []
        for delivery in deliveries {
            switch delivery.record {
            case .ledger(let row): ledger.append(row)
            case .account(let snapshot): accounts.append(snapshot)
            case .webhook(let record): webhooks.append(record)
            case .planGate(let gate): gates.append(gate)
            case .stripe(let event): stripe.append(event)
            }
        }
        let oracle = BatchOracle.evaluate(
            ledger: ledger, accounts: accounts, webhooks: webhooks, gates: gates, stripe: stripe,
            watermarkMs: driver.watermarkMs,
            settings: settings)
        return Outcome(
            incremental: driver.openIssues, oracle: oracle, keyViolations: driver.keyViolations,
            deliveries: deliveries.count, fired: Set(driver.events.map(\.check)))
    }

    /// The first difference by issue id, described.
    static func firstDifference(_ outcome: Outcome) -> String? {
        let a = Dictionary(uniqueKeysWithValues: outcome.incremental.map { ($0.issueId, $0) })
        let b = Dictionary(uniqueKeysWithValues: outcome.oracle.map { ($0.issueId, $0) })
        for id in Set(a.keys).union(b.keys).sorted() where a[id] != b[id] {
            return "issue \(id)\n  incremental: \(a[id]?.description ?? "not open")\n  oracle:      \(b[id]?.description ?? "not open")"
        }
        return nil
    }

    @Test func incrementalPipeline_endsWithTheOraclesOpenIssues_onSeededRandomStreams() {
        var fired = Set<CheckKind>()
        var deliveries = 0
        var issues = 0
        for seed in 1...Self.cases {
            let outcome = Self.run(seed: seed, users: Array(0..<Self.users))
            deliveries += outcome.deliveries
            issues += outcome.oracle.count
            fired.formUnion(outcome.fired)
            #expect(outcome.keyViolations.isEmpty, "seed \(seed): \(outcome.keyViolations.prefix(3))")
            if let difference = Self.firstDifference(outcome) {
                // Shrink greedily: drop every user whose removal keeps a difference (user i
                // depends only on the seed and i).
                var smallest = Array(0..<Self.users)
                var smallestDifference = difference
                for index in 0..<Self.users {
                    let fewer = smallest.filter { $0 != index }
                    if let d = Self.firstDifference(Self.run(seed: seed, users: fewer)) {
                        smallest = fewer
                        smallestDifference = d
                    }
                }
                Issue.record(
                    "seed \(seed) differs (smallest failing case: StreamGenerator.make(seed: \(seed), userIndices: \(smallest))):\n\(smallestDifference)"
                )
                return
            }
        }
        // The streams must exercise every check, or the comparison proves little.
        #expect(fired == Set(CheckKind.allCases), "never fired: \(Set(CheckKind.allCases).subtracting(fired))")
        #expect(deliveries > 50_000)
        #expect(issues > 1_000)
    }
}
