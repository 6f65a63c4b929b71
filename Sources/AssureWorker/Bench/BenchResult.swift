import Foundation

/// The benchmark's figures, as printed by `--json`.
struct BenchResult: Codable, Sendable {
    struct Throughput: Codable, Sendable {
        /// Preloaded ledger events (without the markers).
        var events: Int
        /// From the first start-marker issue event to the last end-marker issue event.
        var seconds: Double
        var eventsPerSecond: Double
        /// `markers`, or `workerStart` when every marker came in one batch (tiny runs).
        var window: String
        /// From the workers' start to the first start-marker issue event (process start, group join).
        var startupSeconds: Double
    }

    struct Latency: Codable, Sendable {
        var offeredRate: Int
        /// Events actually produced per second over the phase.
        var achievedRate: Double
        var seconds: Double
        var events: Int
        /// Faulty rows produced, and how many of their issue events arrived.
        var faultyRows: Int
        var received: Int
        var p50Ms: Double
        var p90Ms: Double
        var p99Ms: Double
        var maxMs: Double
    }

    /// `GET /api/admin/billing-assurance` timed from outside, for one `periodDays`.
    struct Report: Codable, Sendable {
        /// nil: the configured period.
        var periodDays: Int?
        var requests: Int
        /// Issues in the last answer, and its `summary.checkedUsers`.
        var openIssues: Int
        var checkedUsers: Int64
        var p50Ms: Double
        var p99Ms: Double
        var maxMs: Double
    }

    var events: Int
    var users: Int
    var distribution: String
    var workers: Int
    var partitions: Int
    var preloadSeconds: Double
    var throughput: Throughput
    var latency: Latency?
    /// One entry per period asked, empty when the report phase was skipped.
    var reports: [Report] = []
    /// The largest peak RSS (VmHWM) over the worker processes, and each one's.
    var peakRSSMB: Double
    var workerPeakRSSMB: [Double]
    /// 1, 5 and 15 minute load averages at the end: figures taken under load are low.
    var loadAverage: [Double]

    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let rank = Int((fraction * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank - 1, 0), sorted.count - 1)]
    }

    static func loadAverageNow() -> [Double] {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return [] }
        return text.split(separator: " ").prefix(3).compactMap { Double($0) }
    }

    func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// The table printed at the end.
    var table: String {
        func number(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }
        var rows: [(String, String)] = [
            ("setup", "\(events) events, \(users) users (\(distribution)), \(workers) worker(s), \(partitions) partitions"),
            ("preload", "\(number(preloadSeconds, 1)) s"),
            ("throughput", "\(number(throughput.eventsPerSecond)) events/s (\(number(throughput.seconds, 2)) s, "
                + (throughput.window == "markers" ? "first to last marker)" : "workers' start to the last marker)")),
            ("worker start", "\(number(throughput.startupSeconds, 1)) s to the first marker issue"),
        ]
        if let latency {
            rows += [
                ("offered rate", "\(latency.offeredRate) events/s (achieved \(number(latency.achievedRate)), \(number(latency.seconds, 1)) s)"),
                ("latency p50", "\(number(latency.p50Ms, 1)) ms (produce → issue event, \(latency.received)/\(latency.faultyRows) faulty rows)"),
                ("latency p90", "\(number(latency.p90Ms, 1)) ms"),
                ("latency p99", "\(number(latency.p99Ms, 1)) ms"),
                ("latency max", "\(number(latency.maxMs, 1)) ms"),
            ]
        }
        for report in reports {
            let period = report.periodDays.map { "periodDays=\($0)" } ?? "configured period"
            rows.append(
                ("report, \(period)",
                    "p50 \(number(report.p50Ms, 1)) ms, p99 \(number(report.p99Ms, 1)) ms, max \(number(report.maxMs, 1)) ms "
                    + "(\(report.requests) requests, \(report.openIssues) open issues, \(report.checkedUsers) users)"))
        }
        rows.append(("peak RSS", "\(number(peakRSSMB)) MB" + (workerPeakRSSMB.count > 1 ? " (per worker: \(workerPeakRSSMB.map { number($0) }.joined(separator: ", ")) MB)" : "")))
        rows.append(("load average", loadAverage.map { number($0, 2) }.joined(separator: " ")))
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}
