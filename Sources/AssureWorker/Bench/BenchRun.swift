import Consumers
import Foundation
import Logging
import Shared
import Synchronization

/// The benchmark's phases against a started ``BenchEnvironment``: preload, throughput, latency, RSS.
struct BenchRun {
    let options: BenchCommand
    let environment: BenchEnvironment
    let logger: Logger
    let deadline: ContinuousClock.Instant

    private var partitionIds: [Int32] { (0..<Int32(options.partitions)).map { $0 } }
    private var issuePrefix: String { BenchTraffic.markerIssuePrefix }

    func run() async throws -> BenchResult {
        let reader = try BenchIssueReader(
            topic: environment.topics.issues, bootstrapServers: environment.cluster.bootstrapServers, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await reader.run() }
            do {
                let result = try await phases(reader: reader)
                reader.close()
                try await tasks.waitForAll()
                return result
            } catch {
                reader.close()
                tasks.cancelAll()
                throw error
            }
        }
    }

    private func phases(reader: BenchIssueReader) async throws -> BenchResult {
        let progress = BenchProgress()
        progress.say("migrating a durable PostgreSQL …", force: true)
        try await environment.migrate()
        var traffic = BenchTraffic(
            users: options.users, partitions: options.partitions, distribution: options.distribution,
            topic: environment.topics.ledger)
        let preloadSeconds = try await preload(&traffic, progress: progress)

        progress.say("starting \(options.workers) worker(s) …", force: true)
        let started = ContinuousClock.now
        let workers = try environment.startWorkers(options.workers)
        let startIds = partitionIds.map { issuePrefix + BenchTraffic.markerRowId("start", partition: $0) }
        let endIds = partitionIds.map { issuePrefix + BenchTraffic.markerRowId("end", partition: $0) }
        try await waitFor("the end markers' issue events", workers: workers, progress: progress) {
            let ends = reader.seenCount(endIds)
            return (ends == endIds.count,
                "throughput: start markers \(reader.seenCount(startIds))/\(startIds.count), end markers \(ends)/\(endIds.count)")
        }
        let first = reader.firstSeen(startIds).compactMap { $0 }.min() ?? started
        let last = reader.firstSeen(endIds).compactMap { $0 }.max() ?? ContinuousClock.now
        // A run small enough for one batch publishes every marker at once: then the window is
        // measured from the workers' start instead (startup included, so a lower bound).
        let fromMarkers = last - first >= .milliseconds(1)
        let seconds = Self.seconds(last - (fromMarkers ? first : started))
        let throughput = BenchResult.Throughput(
            events: options.events, seconds: seconds, eventsPerSecond: Double(options.events) / seconds,
            window: fromMarkers ? "markers" : "workerStart", startupSeconds: Self.seconds(first - started))
        progress.say(String(format: "throughput: %.0f events/s", throughput.eventsPerSecond), force: true)

        let latency = options.latencySeconds > 0
            ? try await latencyPhase(&traffic, reader: reader, workers: workers, progress: progress) : nil
        var reports: [BenchResult.Report] = []
        if options.reportRequests > 0 {
            let probe = BenchReportProbe(port: environment.apiPort, token: environment.adminToken)
            for period in [nil, options.reportPeriodDays] {
                progress.say("report: \(options.reportRequests) requests for \(period.map { "periodDays=\($0)" } ?? "the configured period") …", force: true)
                reports.append(try await probe.measure(periodDays: period, requests: options.reportRequests))
                try checkDeadline("the report phase")
            }
        }
        let rss = workers.map { Double($0.peakRSSBytes() ?? 0) / 1_048_576 }
        var result = BenchResult(
            events: options.events, users: options.users, distribution: options.distribution.rawValue,
            workers: options.workers, partitions: options.partitions, preloadSeconds: preloadSeconds,
            throughput: throughput, latency: latency, peakRSSMB: rss.max() ?? 0, workerPeakRSSMB: rss,
            loadAverage: BenchResult.loadAverageNow())
        result.reports = reports
        return result
    }

    /// Start markers, `events` rows interleaved over the users (event times spread over the last
    /// day), end markers: each partition's first and last record is a marker.
    private func preload(_ traffic: inout BenchTraffic, progress: BenchProgress) async throws -> Double {
        let began = ContinuousClock.now
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let firstMs = nowMs - 86_400_000
        try await send(partitionIds.map { traffic.marker("start", partition: $0, createdAtMs: firstMs) })
        var produced = 0
        while produced < options.events {
            let count = min(20_000, options.events - produced)
            var chunk: [OutboundMessage] = []
            chunk.reserveCapacity(count)
            for index in produced..<(produced + count) {
                let atMs = firstMs + Int64(index) * 86_000_000 / Int64(max(options.events, 1))
                chunk.append(traffic.next(createdAtMs: atMs, idPrefix: "r").message)
            }
            try await send(chunk)
            produced += count
            progress.say("preload: \(produced)/\(options.events) events produced")
            try checkDeadline("preloading")
        }
        try await send(partitionIds.map { traffic.marker("end", partition: $0, createdAtMs: nowMs - 1000) })
        let seconds = Self.seconds(ContinuousClock.now - began)
        progress.say(String(format: "preload: %d events in %.1f s", options.events, seconds), force: true)
        return seconds
    }

    /// Produces at `--rate` for `--latency-seconds`; every `--faulty-every`-th row opens an issue,
    /// timed from the moment it was handed to the producer to the moment its issue event was read.
    private func latencyPhase(
        _ traffic: inout BenchTraffic, reader: BenchIssueReader, workers: [BenchProcess], progress: BenchProgress
    ) async throws -> BenchResult.Latency {
        var faultyIds: [String] = []
        var sentAt: [ContinuousClock.Instant] = []
        var sent = 0
        let start = ContinuousClock.now
        let duration = Duration.milliseconds(Int64(options.latencySeconds * 1000))
        while ContinuousClock.now - start < duration {
            let due = Int(Double(options.rate) * Self.seconds(ContinuousClock.now - start)) - sent
            guard due > 0 else {
                try await Task.sleep(for: .milliseconds(1))
                continue
            }
            var chunk: [OutboundMessage] = []
            var chunkFaulty: [String] = []
            let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
            for _ in 0..<due {
                sent += 1
                let faulty = sent % options.faultyEvery == 0
                let (row, message) = traffic.next(createdAtMs: nowMs, idPrefix: "l", faulty: faulty)
                chunk.append(message)
                if faulty { chunkFaulty.append(issuePrefix + row.id) }
            }
            let handedOver = ContinuousClock.now
            faultyIds += chunkFaulty
            sentAt += Array(repeating: handedOver, count: chunkFaulty.count)
            try await send(chunk)
            progress.say("latency: \(sent) events produced, \(reader.seenCount(faultyIds))/\(faultyIds.count) faulty rows' issues read")
            try checkDeadline("the latency phase")
        }
        let produceSeconds = Self.seconds(ContinuousClock.now - start)
        let ids = faultyIds
        let drainDeadline = min(deadline, ContinuousClock.now + .seconds(60))
        try await waitFor("the faulty rows' issue events", workers: workers, progress: progress, until: drainDeadline) {
            let seen = reader.seenCount(ids)
            return (seen == ids.count, "latency: \(seen)/\(ids.count) faulty rows' issues read")
        }
        let latencies = zip(reader.firstSeen(ids), sentAt).compactMap { seen, sent in
            seen.map { Self.seconds($0 - sent) * 1000 }
        }.sorted()
        return BenchResult.Latency(
            offeredRate: options.rate, achievedRate: Double(sent) / max(produceSeconds, 1e-9), seconds: produceSeconds,
            events: sent, faultyRows: ids.count, received: latencies.count,
            p50Ms: BenchResult.percentile(latencies, 0.50), p90Ms: BenchResult.percentile(latencies, 0.90),
            p99Ms: BenchResult.percentile(latencies, 0.99), maxMs: latencies.last ?? 0)
    }

    private func send(_ messages: [OutboundMessage]) async throws {
        for case .failure(let error) in await environment.producer.send(messages) {
            throw BenchFailure("producing to the mock cluster failed: \(error)")
        }
    }

    /// Polls `condition` every 10 ms (the reader stamps arrival times itself, so polling does not
    /// blur the figures) until it holds; fails when a worker exits or the deadline passes.
    private func waitFor(
        _ what: String, workers: [BenchProcess], progress: BenchProgress, until: ContinuousClock.Instant? = nil,
        _ condition: () -> (done: Bool, status: String)
    ) async throws {
        let limit = until ?? deadline
        while true {
            let (done, status) = condition()
            progress.say(status, force: done)
            if done { return }
            if let dead = workers.first(where: \.hasExited) {
                throw BenchFailure("\(dead.name) exited while waiting for \(what):\n\(dead.logTail())")
            }
            guard ContinuousClock.now < limit else {
                throw BenchFailure("timed out waiting for \(what) (\(status))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private func checkDeadline(_ what: String) throws {
        try Task.checkCancellation()
        guard ContinuousClock.now < deadline else { throw BenchFailure("--timeout reached during \(what)") }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// The progress line on standard error, at most every two seconds unless forced.
final class BenchProgress: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)
    private let began = ContinuousClock.now

    func say(_ line: String, force: Bool = false) {
        let now = ContinuousClock.now
        let due = last.withLock { last in
            if !force, let previous = last, now - previous < .seconds(2) { return false }
            last = now
            return true
        }
        guard due else { return }
        let elapsed = BenchRun.seconds(now - began)
        FileHandle.standardError.write(Data(String(format: "[bench %6.1fs] ", elapsed).appending(line + "\n").utf8))
    }
}
