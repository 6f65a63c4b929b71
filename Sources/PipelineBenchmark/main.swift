// Events per second through the check pipeline alone, on one core: ledger rows over 100 000
// users with in-memory cross-user facts. Run with `swift run -c release PipelineBenchmark [users] [rowsPerUser]`.
import CheckPipeline
import Shared

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let arguments = CommandLine.arguments.dropFirst().compactMap { Int($0) }
let users = arguments.first ?? 100_000
let rowsPerUser = arguments.dropFirst().first ?? 20
let t0: Int64 = 1_790_000_000_000

// A deterministic mix: 70 % usage, 15 % purchases (event + payment intent), 10 % subscription
// grants (event + invoice), 5 % adjustments; rows interleaved across users, in seq order.
var rows: [BillingRecord] = []
rows.reserveCapacity(users * rowsPerUser)
var balances = [Int64](repeating: 0, count: users)
for seq in 1...rowsPerUser {
    for u in 0..<users {
        let userId = "u\(u)"
        let kind = (u &* 31 &+ seq &* 17) % 20
        let type: LedgerType
        let amount: Int64
        var event: String? = nil
        var intent: String? = nil
        var invoice: String? = nil
        switch kind {
        case 0..<3:
            type = .purchase
            amount = 500
            event = "evt_\(u)_\(seq)"
            intent = "pi_\(u)_\(seq)"
        case 3..<5:
            type = .subscriptionGrant
            amount = 1_000
            event = "evt_\(u)_\(seq)"
            invoice = "in_\(u)_\(seq)"
        case 5:
            type = .adjustment
            amount = 10
        default:
            type = .usage
            amount = -1
        }
        balances[u] += amount
        rows.append(
            .ledger(
                LedgerRow(
                    id: "c\(u)_\(seq)", userId: userId, seq: Int64(seq), type: type, amount: amount,
                    balanceAfter: balances[u], stripeEventId: event, stripePaymentIntentId: intent,
                    stripeInvoiceId: invoice, createdAtMs: t0 + Int64(seq) * 60_000)))
    }
}

let pipeline = IssuePipeline(settings: CheckSettings())
// Sized for the run: a long-running table of cross-user facts is at its steady-state size.
let store = InMemoryStateStore(minimumCapacity: users * 12)
var transitions: [IssueChange] = []
transitions.reserveCapacity(1_024)

// Every user starts with an account snapshot on PRO (not timed), so the balance, tier and stale
// checks run on every row.
for u in 0..<users {
    let snapshot = AccountSnapshot(
        userId: "u\(u)", tier: .pro, credits: 0, stripeCustomerId: "cus_\(u)", subscriptionStatus: "active",
        updatedAtMs: t0, version: 1)
    pipeline.apply(.account(snapshot), nowMs: t0, watermarkMs: t0, store: store, into: &transitions)
}
transitions.removeAll(keepingCapacity: true)

// Processing time stands still (a run takes seconds), so settle deadlines do not pass mid-run.
/// CPU time of this thread in seconds: on a shared machine wall time also counts other processes.
func threadCPUSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
}

let clock = ContinuousClock()
let cpuStart = threadCPUSeconds()
var emitted = 0
var watermark = t0
let elapsed = clock.measure {
    for record in rows {
        if case .ledger(let row) = record, row.createdAtMs > watermark { watermark = row.createdAtMs }
        pipeline.apply(record, nowMs: t0, watermarkMs: watermark, store: store, into: &transitions)
        if transitions.count > 512 {
            emitted += transitions.count
            transitions.removeAll(keepingCapacity: true)
        }
    }
}
emitted += transitions.count
let cpuSeconds = threadCPUSeconds() - cpuStart
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let rate = Double(rows.count) / seconds
print("pipeline benchmark: \(rows.count) ledger rows over \(users) users")
print("  wall \(format3(seconds)) s: \(Int(rate)) events/s")
print("  cpu  \(format3(cpuSeconds)) s: \(Int(Double(rows.count) / cpuSeconds)) events/s on one core")
print("  \(emitted) transitions, \(store.keys.count) entity states")

func format3(_ value: Double) -> String {
    let scaled = Int(value * 1000 + 0.5)
    let fraction = String(scaled % 1000)
    return "\(scaled / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
