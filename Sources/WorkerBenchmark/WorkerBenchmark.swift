import CheckPipeline
import Consumers
import Foundation
import Synchronization
import Logging
import Persistence
import PostgresNIO
import Shared
import TestSupport
import WorkerRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// End-to-end throughput of one worker's batch processing (`BatchProcessor.process`) against a
/// throwaway PostgreSQL server, durable (fsync on) unless `--no-fsync`.
///
/// Usage: `swift run -c release WorkerBenchmark [--users 20000] [--events-per-user 50]
/// [--batch 10000[,5000,…]] [--partitions 6] [--seed 42] [--no-fsync] [--sequential]`
///
/// By default batches go through `BatchPipeline`, as in the worker (one batch prepared while the one
/// before commits; the phase times then overlap); `--sequential` runs `BatchProcessor.process` alone.
///
/// Besides the end-to-end figure it times a decode-only pass and an in-memory pipeline-only pass,
/// and splits the end-to-end time by phase with `BatchPhaseTimes`.
@main
enum WorkerBenchmark {
    static func main() async {
        let options: Options
        do {
            options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            FileHandle.standardError.write(Data("\(error)\n\n\(Options.usage)\n".utf8))
            exit(2)
        }
        do {
            try await run(options)
        } catch {
            FileHandle.standardError.write(Data("WorkerBenchmark failed: \(DatabaseError.describe(error))\n".utf8))
            exit(1)
        }
    }

    static func run(_ options: Options) async throws {
        var logger = Logger(label: "assure.bench")
        logger.logLevel = .error
        let settings = WorkerSettings()

        print("WorkerBenchmark: \(options.users) users × \(options.eventsPerUser) events, \(options.partitions) partitions,"
            + " batches of \(options.batchSizes.map(String.init).joined(separator: ", ")),"
            + " PostgreSQL fsync \(options.durable ? "ON (durable)" : "OFF")")
        var started = ContinuousClock.now
        let traffic = BillingTraffic.generate(
            .init(users: options.users, eventsPerUser: options.eventsPerUser, seed: options.seed, endMs: WallClock.nowMs()))
        let records = BillingTraffic.inboundRecords(
            traffic.messages(topics: settings.topics), partitions: options.partitions, timestampMs: WallClock.nowMs())
        let payloadBytes = records.reduce(0) { $0 + ($1.value?.count ?? 0) }
        print("generated \(records.count) messages (\(payloadBytes / records.count) B average) in \(seconds(since: started))")

        // 1. Decoding alone.
        let decoder = RecordDecoder(topics: settings.topics)
        started = .now
        var decoded: [BillingRecord] = []
        decoded.reserveCapacity(records.count)
        for record in records {
            if case .record(let billing) = decoder.decode(record) { decoded.append(billing) }
        }
        let decodeTime = ContinuousClock.now - started
        print("decode only:   \(rate(records.count, decodeTime)) (\(decoded.count) usable)")

        // 2. The pipeline alone, on one in-memory store (no loading, no encoding, no SQL).
        let pipeline = IssuePipeline(settings: settings.checks)
        let store = InMemoryStateStore(minimumCapacity: options.users * 3)
        var transitions: [IssueChange] = []
        let nowMs = WallClock.nowMs()
        var watermark = Int64.min
        started = .now
        for record in decoded {
            if let eventTime = record.eventTimeMs { watermark = max(watermark, eventTime) }
            _ = pipeline.apply(record, nowMs: nowMs, watermarkMs: watermark, store: store, into: &transitions)
        }
        let pipelineTime = ContinuousClock.now - started
        print("pipeline only: \(rate(decoded.count, pipelineTime)) (\(transitions.count) transitions, \(store.keys.count) states)")

        // 3. End to end, once per batch size, each on a fresh database of one server.
        let server = try await PostgresTestServer.start(durable: options.durable, logger: logger)
        var results: [RunResult] = []
        do {
            for batchSize in options.batchSizes {
                let result = try await endToEnd(
                    records: records, batchSize: batchSize, sequential: options.sequential, server: server,
                    settings: settings, logger: logger)
                result.print()
                results.append(result)
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()

        print("\nsummary (events/s end to end, fsync \(options.durable ? "on" : "off")):")
        for result in results {
            print("  batch \(pad(String(result.batchSize), 6)): \(pad(String(Int(result.eventsPerSecond)), 9)) events/s")
        }
    }

    /// One pass over all records in batches of `batchSize` on a fresh, migrated database.
    static func endToEnd(
        records: [InboundRecord], batchSize: Int, sequential: Bool, server: PostgresTestServer,
        settings: WorkerSettings, logger: Logger
    ) async throws -> RunResult {
        let configuration = try await server.createDatabase(prefix: "bench")
        let result = try await Database.withDatabase(configuration: configuration, logger: logger, retry: .once) {
            database in
            try await database.migrate()
            let phases = BatchPhaseTimes()
            let processor = BatchProcessor(client: database.client, settings: settings, logger: logger)
            var totals = BatchProcessor.Summary()
            var latencies: [Duration] = []
            let cpuBefore = CPUTime.now()
            let started = ContinuousClock.now
            // The batch code charges its phases to `phases` through the task-local clock.
            try await BatchPhaseTimes.$current.withValue(phases) {
                if sequential {
                    var index = 0
                    while index < records.count {
                        let end = min(index + batchSize, records.count)
                        let batchStarted = ContinuousClock.now
                        let summary = try await processor.process(Array(records[index..<end]))
                        latencies.append(ContinuousClock.now - batchStarted)
                        totals += summary
                        index = end
                    }
                } else {
                    // As the worker runs: each batch is prepared while the one before commits.
                    let committed = SummaryLog()
                    try await withThrowingTaskGroup(of: Bool.self) { commits in
                        var pipeline = BatchPipeline(processor: processor, committed: { committed.append($0) })
                        var index = 0
                        while index < records.count {
                            let end = min(index + batchSize, records.count)
                            let batchStarted = ContinuousClock.now
                            try await pipeline.submit(Array(records[index..<end]), commits: &commits)
                            latencies.append(ContinuousClock.now - batchStarted)
                            index = end
                        }
                        try await pipeline.drain(commits: &commits)
                    }
                    for summary in committed.all { totals += summary }
                }
            }
            let elapsed = ContinuousClock.now - started
            let cpu = CPUTime.now() - cpuBefore
            let counts = try await tableCounts(database: database, logger: logger)
            return RunResult(
                batchSize: batchSize, records: records.count, elapsed: elapsed, cpuSeconds: cpu, totals: totals,
                latencies: latencies, phases: phases.snapshot, tableCounts: counts, pipelined: !sequential)
        }
        try? await server.dropDatabase(configuration.database)
        return result
    }

    static func tableCounts(database: Database, logger: Logger) async throws -> [(String, Int64)] {
        var counts: [(String, Int64)] = []
        for table in ["entity_state", "issues", "outbox"] {
            let rows = try await database.client.query(
                PostgresQuery(unsafeSQL: "SELECT count(*) FROM assurance.\(table)"), logger: logger)
            for try await count in rows.decode(Int64.self) { counts.append((table, count)) }
        }
        return counts
    }
}

/// What one end-to-end pass measured.
struct RunResult {
    var batchSize: Int
    var records: Int
    var elapsed: Duration
    var cpuSeconds: Double
    var totals: BatchProcessor.Summary
    var latencies: [Duration]
    var phases: [BatchPhaseTimes.Phase: Duration]
    var tableCounts: [(String, Int64)]
    /// Batches ran through `BatchPipeline`, so preparing and committing overlap.
    var pipelined: Bool

    var eventsPerSecond: Double { Double(records) / elapsed.seconds }

    func print() {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> String {
            guard !sorted.isEmpty else { return "-" }
            return millis(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))])
        }
        Swift.print("""

            end to end, batch \(batchSize): \(rate(records, elapsed)) over \(latencies.count) batches
              wall \(String(format: "%.2f", elapsed.seconds)) s, worker CPU \(String(format: "%.2f", cpuSeconds)) s \
            (\(Int(100 * cpuSeconds / elapsed.seconds))% of one core)
              batch latency p50 \(percentile(0.5)), p99 \(percentile(0.99)), max \(percentile(1))
              applied \(totals.applied), ignored \(totals.ignored), dead letters \(totals.deadLetters), \
            skipped \(totals.skipped), fenced \(totals.fenced), issue events \(totals.issueEvents), \
            batches redone after a conflict \(totals.stateConflicts)
              rows: \(tableCounts.map { "\($0.0) \($0.1)" }.joined(separator: ", "))
              where the time goes (wall, summed over batches\(pipelined ? "; preparing overlaps committing" : "")):
            """)
        let measured = phases.values.reduce(Duration.zero, +)
        for phase in BatchPhaseTimes.Phase.allCases {
            let time = phases[phase] ?? .zero
            Swift.print(
                "    \(pad(phase.rawValue, 13)) \(pad(String(format: "%.2f s", time.seconds), 9))"
                    + " \(pad(String(format: "%.1f%%", 100 * time.seconds / elapsed.seconds), 6))"
                    + " \(pad(String(format: "%.2f µs/event", 1e6 * time.seconds / Double(records)), 15))")
        }
        guard !pipelined else { return }
        let other = elapsed - measured
        Swift.print(
            "    \(pad("other", 13)) \(pad(String(format: "%.2f s", other.seconds), 9))"
                + " \(pad(String(format: "%.1f%%", 100 * other.seconds / elapsed.seconds), 6))"
                + "  (slicing batches, summaries, metrics)")
    }
}

/// Command-line options.
struct Options {
    var users = 20_000
    var eventsPerUser = 50
    var batchSizes = [10_000]
    var partitions = 6
    var seed: UInt64 = 42
    var durable = true
    var sequential = false

    static let usage = """
        usage: WorkerBenchmark [--users N] [--events-per-user N] [--batch N[,N…]] [--partitions N] [--seed N] [--no-fsync] [--sequential]
        """

    struct BadArgument: Error, CustomStringConvertible {
        var description: String
    }

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var iterator = arguments.makeIterator()
        func value(_ name: String) throws -> String {
            guard let value = iterator.next() else { throw BadArgument(description: "\(name) needs a value") }
            return value
        }
        func positive(_ name: String, _ text: String) throws -> Int {
            guard let number = Int(text), number > 0 else { throw BadArgument(description: "\(name): bad number \(text)") }
            return number
        }
        while let argument = iterator.next() {
            switch argument {
            case "--users": options.users = try positive(argument, try value(argument))
            case "--events-per-user": options.eventsPerUser = try positive(argument, try value(argument))
            case "--partitions": options.partitions = try positive(argument, try value(argument))
            case "--seed": options.seed = UInt64(try positive(argument, try value(argument)))
            case "--batch":
                options.batchSizes = try value(argument).split(separator: ",").map { try positive(argument, String($0)) }
            case "--no-fsync": options.durable = false
            case "--sequential": options.sequential = true
            case "-h", "--help":
                print(usage)
                exit(0)
            default: throw BadArgument(description: "unknown argument \(argument)")
            }
        }
        return options
    }
}

#if canImport(Glibc)
let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#else
let RUSAGE_SELF_WHO = RUSAGE_SELF
#endif

/// This process's user + system CPU time in seconds.
enum CPUTime {
    static func now() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF_WHO, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func seconds(since start: ContinuousClock.Instant) -> String {
    String(format: "%.2f s", (ContinuousClock.now - start).seconds)
}

func millis(_ duration: Duration) -> String { String(format: "%.1f ms", duration.seconds * 1000) }

func rate(_ count: Int, _ duration: Duration) -> String {
    "\(Int(Double(count) / duration.seconds)) events/s (\(String(format: "%.2f", duration.seconds)) s)"
}

func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}

/// Summaries of committed batches, appended from the pipeline's callback.
final class SummaryLog: Sendable {
    private let summaries = Mutex<[BatchProcessor.Summary]>([])

    func append(_ summary: BatchProcessor.Summary) { summaries.withLock { $0.append(summary) } }

    var all: [BatchProcessor.Summary] { summaries.withLock { $0 } }
}
