import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Times `GET /api/admin/billing-assurance` against a running worker, one request at a time, as an
/// admin's client sees it (HTTP on loopback, the whole answer read).
struct BenchReportProbe {
    let port: Int
    let token: String

    /// `requests` timed requests after two untimed ones (connection set-up, first-use caches);
    /// `periodDays` nil asks for the configured period.
    func measure(periodDays: Int?, requests: Int) async throws -> BenchResult.Report {
        var latencies: [Double] = []
        var openIssues = 0
        var checkedUsers: Int64 = 0
        for index in 0..<(requests + 2) {
            let started = ContinuousClock.now
            let body = try await get(periodDays: periodDays)
            let elapsed = BenchRun.seconds(ContinuousClock.now - started) * 1000
            if index >= 2 { latencies.append(elapsed) }
            let report = try JSONSerialization.jsonObject(with: body) as? [String: Any]
            openIssues = (report?["issues"] as? [Any])?.count ?? 0
            let summary = report?["summary"] as? [String: Any]
            checkedUsers = (summary?["checkedUsers"] as? NSNumber)?.int64Value ?? checkedUsers
        }
        latencies.sort()
        return BenchResult.Report(
            periodDays: periodDays, requests: requests, openIssues: openIssues, checkedUsers: checkedUsers,
            p50Ms: BenchResult.percentile(latencies, 0.50), p99Ms: BenchResult.percentile(latencies, 0.99),
            maxMs: latencies.last ?? 0)
    }

    private func get(periodDays: Int?) async throws -> Data {
        let query = periodDays.map { "?periodDays=\($0)" } ?? ""
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/admin/billing-assurance\(query)")!)
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        request.timeoutInterval = 60
        let (data, response) = try await URLSession.shared.data(for: request)
        guard let http = response as? HTTPURLResponse, http.statusCode == 200 else {
            throw BenchFailure(
                "the report answered \((response as? HTTPURLResponse)?.statusCode ?? 0): \(String(decoding: data.prefix(500), as: UTF8.self))")
        }
        return data
    }
}
