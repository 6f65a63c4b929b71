import Foundation
import Shared
import TestSupport

/// The benchmark's ledger stream: users drawn one event at a time (uniformly or Zipf-skewed), so
/// their events interleave in time as real traffic does, each user's rows consistent (seq without
/// gaps, `balanceAfter` = previous + amount) and always on the same partition.
///
/// Clean rows open no issue; marker rows and "faulty" rows are PURCHASEs without a payment intent,
/// which open `purchase-without-payment-intent:<rowId>` at once (no settle time).
struct BenchTraffic {
    enum Distribution: String, CaseIterable, Codable {
        case uniform, zipf
    }

    /// Zipf exponent of `--distribution zipf`.
    static let zipfExponent = 1.1
    static let markerIssuePrefix = CheckKind.purchaseWithoutPaymentIntent.issueId("")

    let users: Int
    let partitions: Int
    let topic: String
    private var rng: SeededGenerator
    private var seq: [Int64]
    private var balance: [Int64]
    /// Cumulative weights of the Zipf ranks (nil: uniform).
    private let zipfCDF: [Double]?
    private var nextRow = 0
    private let partitionOfUser: [Int32]

    init(users: Int, partitions: Int, distribution: Distribution, topic: String, seed: UInt64 = 14) {
        self.users = users
        self.partitions = partitions
        self.topic = topic
        self.rng = SeededGenerator(seed: seed)
        self.seq = Array(repeating: 0, count: users)
        self.balance = Array(repeating: 0, count: users)
        self.partitionOfUser = (0..<users).map { Self.partition(of: Self.userId($0), partitions: partitions) }
        if distribution == .zipf {
            var cdf = [Double]()
            cdf.reserveCapacity(users)
            var sum = 0.0
            for rank in 1...max(users, 1) {
                sum += 1.0 / pow(Double(rank), Self.zipfExponent)
                cdf.append(sum)
            }
            zipfCDF = cdf.map { $0 / sum }
        } else {
            zipfCDF = nil
        }
    }

    static func userId(_ index: Int) -> String { "user_\(index)" }

    /// FNV-1a of the key, as `BillingTraffic.inboundRecords` partitions: the same user always lands
    /// on the same partition.
    static func partition(of key: String, partitions: Int) -> Int32 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int32(hash % UInt64(partitions))
    }

    /// The next user: uniform, or Zipf rank r with weight 1/r^s (user_0 the hottest).
    private mutating func nextUser() -> Int {
        guard let cdf = zipfCDF else { return Int.random(in: 0..<users, using: &rng) }
        let u = Double.random(in: 0..<1, using: &rng)
        var low = 0
        var high = cdf.count - 1
        while low < high {
            let mid = (low + high) / 2
            if cdf[mid] < u { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The next ledger row of a random user; `faulty` makes it a PURCHASE without a payment intent.
    /// Clean rows are purchases (with a Stripe event and payment intent) and usage, about 30 / 70.
    mutating func next(createdAtMs: Int64, idPrefix: String, faulty: Bool = false) -> (row: LedgerRow, message: OutboundMessage) {
        let user = nextUser()
        nextRow += 1
        let id = "\(idPrefix)\(nextRow)"
        seq[user] += 1
        let purchase = faulty || balance[user] < 50 || Int.random(in: 0..<10, using: &rng) < 3
        let amount: Int64 = purchase ? Int64.random(in: 1...20, using: &rng) * 100 : -Int64.random(in: 1...50, using: &rng)
        balance[user] += amount
        let row = LedgerRow(
            id: id, userId: Self.userId(user), seq: seq[user], type: purchase ? .purchase : .usage, amount: amount,
            balanceAfter: balance[user], stripeEventId: purchase && !faulty ? "evt_\(id)" : nil,
            stripePaymentIntentId: purchase && !faulty ? "pi_\(id)" : nil, createdAtMs: createdAtMs)
        return (row, message(row, partition: partitionOfUser[user]))
    }

    /// A marker row on `partition`: a user of its own whose only row opens an issue at once.
    func marker(_ name: String, partition: Int32, createdAtMs: Int64) -> OutboundMessage {
        let row = LedgerRow(
            id: Self.markerRowId(name, partition: partition), userId: "bench_\(name)_\(partition)", seq: 1, type: .purchase,
            amount: 100, balanceAfter: 100, createdAtMs: createdAtMs)
        return message(row, partition: partition)
    }

    static func markerRowId(_ name: String, partition: Int32) -> String { "bench_\(name)_\(partition)" }

    private func message(_ row: LedgerRow, partition: Int32) -> OutboundMessage {
        OutboundMessage(topic: topic, key: Array(row.userId.utf8), value: BillingJSON.ledger(row), partition: partition)
    }
}
