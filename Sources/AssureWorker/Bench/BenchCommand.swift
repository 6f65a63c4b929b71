import ArgumentParser
import Foundation
import Logging
import UnixSignals

/// `assure-worker bench`: the product measured from outside, as a user would see it.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure real worker processes from outside: throughput, produce → issue latency, peak RSS.",
        discussion: """
            Starts librdkafka's mock cluster (the ledger and every other topic with --partitions partitions) and a \
            throwaway durable PostgreSQL (fsync on), runs migrate, preloads --events ledger rows over --users users \
            (interleaved in time, uniform or Zipf s = 1.1) with a marker row at the start and end of every \
            partition, then starts --workers `assure-worker run` processes. Throughput is events / (first \
            start-marker issue event → last end-marker issue event), read from the issues topic. Then it produces \
            at --rate for --latency-seconds and times produce → issue event of every --faulty-every-th row (p50, \
            p90, p99). Last, the workers' peak RSS (VmHWM). Progress goes to standard error; everything it \
            started is removed on exit and on Ctrl-C. The workers inherit ASSURE_* settings (batch size etc.).

            Examples:
              assure-worker bench
              assure-worker bench --distribution zipf --workers 2 --json
              assure-worker bench --events 2000 --users 200 --latency-seconds 2
            """)

    @Option(help: "Ledger events to preload.")
    var events = 1_000_000

    @Option(help: "Users the events are spread over.")
    var users = 100_000

    @Option(help: "How users are drawn: uniform or zipf (s = 1.1).")
    var distribution: BenchTraffic.Distribution = .uniform

    @Option(help: "Worker processes (`assure-worker run`) in one group.")
    var workers = 1

    @Option(help: "Partitions of every topic (the ledger's markers go to each).")
    var partitions = 64

    @Option(help: "Offered rate of the latency phase, events per second.")
    var rate = 20_000

    @Option(help: "Length of the latency phase in seconds (0 skips it).")
    var latencySeconds: Double = 10

    @Option(help: "In the latency phase, every n-th row opens an issue and is timed.")
    var faultyEvery = 100

    @Option(help: "Timed report requests per period in the report phase (0 skips it).")
    var reportRequests = 50

    @Option(help: "The other period the report phase asks for, besides the configured one.")
    var reportPeriodDays = 30

    @Option(help: "Give up after this many seconds in all.")
    var timeout: Double = 1800

    @Flag(help: "Print the result as JSON (progress stays on standard error).")
    var json = false

    func validate() throws {
        guard events >= 1, users >= 1, workers >= 1, partitions >= 1, rate >= 1, faultyEvery >= 1 else {
            throw ValidationError("--events, --users, --workers, --partitions, --rate and --faulty-every must be at least 1")
        }
        guard latencySeconds >= 0, timeout > 0 else { throw ValidationError("--latency-seconds must be ≥ 0, --timeout > 0") }
        guard reportRequests >= 0, (1...365).contains(reportPeriodDays) else {
            throw ValidationError("--report-requests must be ≥ 0, --report-period-days 1–365")
        }
    }

    func run() async throws {
        let logger = WorkerLogging.makeLogger("assure.bench", unset: .warning)
        let deadline = ContinuousClock.now + .milliseconds(Int64(timeout * 1000))
        BenchProgress().say("starting the mock cluster and a durable PostgreSQL …", force: true)
        let environment = try await BenchEnvironment.start(partitions: partitions, logger: logger)
        let outcome: Result<BenchResult, any Error>
        do {
            let run = BenchRun(options: self, environment: environment, logger: logger, deadline: deadline)
            outcome = .success(try await Self.cancelledBySignals { try await run.run() })
        } catch {
            outcome = .failure(error)
        }
        await environment.stop()
        switch outcome {
        case .success(let result):
            print(json ? try result.json() : result.table)
        case .failure(let error):
            FileHandle.standardError.write(Data("assure-worker bench: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    /// Runs `body`, cancelling it on SIGINT or SIGTERM so that the caller can still clean up.
    static func cancelledBySignals<Result: Sendable>(
        _ body: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                    throw BenchFailure("interrupted by \(signal)")
                }
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let next { return next }
            }
            throw CancellationError()
        }
    }
}

extension BenchTraffic.Distribution: ExpressibleByArgument {}
