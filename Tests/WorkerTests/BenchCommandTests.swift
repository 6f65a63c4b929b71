import Foundation
import Testing

/// `assure-worker bench` at a tiny size: it runs end to end and reports figures of the right shape.
@Suite struct BenchCommandTests {
    @Test func benchAtATinySizeReportsThroughputLatencyAndRSSAsJSON() async throws {
        let executable = try ChildWorker.executableURL()
        let (status, output) = try await ChildWorker.run(
            executable,
            [
                "bench", "--events", "2000", "--users", "200", "--partitions", "8", "--rate", "2000",
                "--latency-seconds", "2", "--faulty-every", "50", "--timeout", "240", "--json",
            ])
        try #require(status == 0, "\(output)")
        // Progress lines go to standard error, which the runner merges: the JSON starts at a lone "{".
        let start = try #require(output.range(of: "\n{\n") ?? output.range(of: "{\n"), "\(output)")
        let json = String(output[start.lowerBound...])
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(output)")
        #expect(object["events"] as? Int == 2000)
        #expect(object["users"] as? Int == 200)
        #expect(object["distribution"] as? String == "uniform")
        #expect(object["workers"] as? Int == 1)
        let throughput = try #require(object["throughput"] as? [String: Any])
        #expect((throughput["eventsPerSecond"] as? Double ?? 0) > 0)
        #expect((throughput["seconds"] as? Double ?? 0) > 0)
        #expect(["markers", "workerStart"].contains(throughput["window"] as? String ?? ""))
        let latency = try #require(object["latency"] as? [String: Any])
        let faulty = latency["faultyRows"] as? Int ?? 0
        #expect(faulty > 0)
        #expect(latency["received"] as? Int == faulty)
        for key in ["p50Ms", "p90Ms", "p99Ms", "maxMs"] {
            #expect((latency[key] as? Double ?? 0) > 0, "\(key)")
        }
        #expect((latency["p50Ms"] as? Double ?? 0) <= (latency["p99Ms"] as? Double ?? 0))
        #expect((object["peakRSSMB"] as? Double ?? 0) > 0)
        #expect((object["workerPeakRSSMB"] as? [Double])?.count == 1)
        #expect((object["loadAverage"] as? [Double])?.count == 3)
    }
}
