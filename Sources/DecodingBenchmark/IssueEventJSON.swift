import Foundation
import Shared

/// Writing and reading one issue event (the JSON every batch writes for each event and reads back
/// for each changed issue, and the report reads for each open issue): Foundation's `JSONEncoder`
/// and `JSONDecoder` against `JSONWriter` (`jsonBytes()`) and `JSONReader`, in CPU µs per event.
func runIssueEvents(count: Int) {
    func event(_ i: Int) -> IssueEvent {
        let evidence: JSONValue = [
            "balance": .int(Int64(1300 + i)), "ledgerBalanceAfter": 1200, "ledgerSeq": .int(Int64(i)),
        ]
        return IssueEvent(
            issueId: "credit-balance:user_\(i)", version: Int64(i % 7 + 1), status: .open, check: .creditBalanceMismatch,
            userId: "user_\(i)", title: "Balance \(1300 + i) differs from ledger balance 1200",
            evidence: evidence,
            repair: RepairSuggestion(action: .syncBalance, description: "Set balance to 1200 with an audit row of -\(100 + i)"),
            firstSeenAt: "2026-11-20T10:00:00.000Z", lastSeenAt: "2026-11-20T10:00:05.123Z",
            atRisk: AtRisk(credits: Int64(100 + i), direction: .leakage),
            cause: .record(topic: "billing.ledger.v1", partition: 3, offset: Int64(i)))
    }
    let events = (0..<min(count, 20_000)).map(event)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.withoutEscapingSlashes]
    let decoder = JSONDecoder()
    // Rows come back from PostgreSQL as text.
    let rows = events.map { String(decoding: $0.jsonBytes(), as: UTF8.self) }
    func measure(_ name: String, _ body: () throws -> Int) {
        do {
            _ = try body()  // warm-up
            var best = Double.infinity
            var checksum = 0
            for _ in 0..<3 {
                let start = threadCPUSeconds()
                checksum &+= try body()
                best = min(best, threadCPUSeconds() - start)
            }
            print("issue event \(name): \(format3(best / Double(events.count) * 1e6)) µs CPU per event (checksum \(checksum))")
        } catch {
            print("issue event \(name): failed: \(error)")
        }
    }
    measure("encode, JSONEncoder     ") { try events.reduce(0) { $0 + (try encoder.encode($1)).count } }
    measure("encode, JSONWriter      ") { events.reduce(0) { $0 + $1.jsonBytes().count } }
    measure("decode, JSONDecoder     ") {
        try rows.reduce(0) { $0 + Int(try decoder.decode(IssueEvent.self, from: Data($1.utf8)).version) }
    }
    measure("decode, JSONReader      ") {
        try rows.reduce(0) { $0 + Int(try JSONReader.decode(IssueEvent.self, from: $1).version) }
    }
}
