import Consumers
import Foundation
import Logging
import Shared
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway Tansu broker (a Kafka-compatible broker in one static binary) for the real-broker suite
/// and `demo --real-broker`, the way ``PostgresTestServer`` is a throwaway PostgreSQL.
///
/// It runs in a temporary folder on a free loopback port with in-memory storage, so a restart of the
/// broker loses every topic: drills that restart the broker belong on the mock cluster.
/// - Important: a broker started here is stopped by `stop()` and, failing that, when the process
///   exits (an `atexit` handler); leftovers of killed processes are swept at the next start.
/// - Important: clients need librdkafka 2.1 or newer (2.0.2 cannot parse Tansu's ApiVersion reply):
///   run under `scripts/real-broker-env.sh`, which puts 2.16 on `LD_LIBRARY_PATH`.
public final class TansuTestBroker: TestKafkaBroker {
    /// `127.0.0.1:<port>`.
    public let bootstrapServers: String
    /// The broker's folder (its log and pid file).
    public let directory: String
    /// The Tansu binary.
    public let executable: String
    private let pid: pid_t
    private let stopped = LockedFlag()
    /// Whether the broker's exit was already reaped (its pid may be reused: never signal it again).
    private let exited = Mutex(false)

    private init(bootstrapServers: String, directory: String, executable: String, pid: pid_t) {
        self.bootstrapServers = bootstrapServers
        self.directory = directory
        self.executable = executable
        self.pid = pid
    }

    /// The Tansu binary named by `ASSURE_TANSU_BIN` (set by `scripts/real-broker-env.sh`).
    public static func executableFromEnvironment() throws -> String {
        guard let path = ProcessInfo.processInfo.environment["ASSURE_TANSU_BIN"], !path.isEmpty else {
            throw TansuTestBrokerError(
                "ASSURE_TANSU_BIN is not set: run under scripts/real-broker-env.sh (after scripts/install.sh)")
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TansuTestBrokerError("ASSURE_TANSU_BIN=\(path) is not an executable file")
        }
        return path
    }

    /// Whether the librdkafka loaded in this process can talk to Tansu (2.1 and newer can; 2.0.2 cannot).
    public static var libraryCanTalkToTansu: Bool {
        let (major, minor, _) = KafkaLibrary.versionNumbers
        return major > 2 || (major == 2 && minor >= 1)
    }

    /// Starts a broker on a free loopback port and waits until it listens.
    public static func start(
        executable: String? = nil, logger: Logger = Logger(label: "assure.test.tansu")
    ) async throws -> TansuTestBroker {
        let executable = try executable ?? executableFromEnvironment()
        let baseDirectory = "/tmp"
        TansuBrokerRegistry.sweepLeftovers(in: baseDirectory)
        var lastError: (any Error)?
        for _ in 0..<3 {
            let directory = "\(baseDirectory)/\(TansuBrokerRegistry.directoryPrefix)\(getpid())-\(PostgresTestServer.randomSuffix())"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            let port = try PostgresTestServer.freeLoopbackPort()
            let url = "tcp://127.0.0.1:\(port)"
            let pid = try ProcessRunner.spawn(
                executable,
                [
                    "broker", "--listener-url", url, "--advertised-listener-url", url,
                    "--storage-engine", "memory://tansu/", "--cluster-id", "assure-test",
                ],
                currentDirectory: directory, outputPath: directory + "/tansu.log")
            TansuBrokerRegistry.shared.register(pid: pid, directory: directory)
            let broker = TansuTestBroker(
                bootstrapServers: "127.0.0.1:\(port)", directory: directory, executable: executable, pid: pid)
            do {
                try await broker.waitUntilListening()
                logger.debug("Tansu test broker started", metadata: ["assure.kafka.brokers": "\(broker.bootstrapServers)"])
                return broker
            } catch {
                // Most likely someone took the port between our probe and the start.
                lastError = error
                logger.warning("Tansu did not start, trying another port", metadata: ["assure.error": "\(error)"])
                await broker.stop()
            }
        }
        throw lastError ?? TansuTestBrokerError("Tansu did not start")
    }

    /// Waits for Tansu's "ready" line; fails if it exits first or takes over 30 s.
    private func waitUntilListening() async throws {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let status = ProcessRunner.exitStatus(pid) {
                exited.withLock { $0 = true }
                throw TansuTestBrokerError("Tansu exited with \(status) before listening: \(logTail())")
            }
            if log.contains("ready in") { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TansuTestBrokerError("Tansu did not report ready within 30 s: \(logTail())")
    }

    /// The broker's own log (stdout and stderr).
    public var log: String { (try? String(contentsOfFile: directory + "/tansu.log", encoding: .utf8)) ?? "" }

    private func logTail() -> String { log.split(separator: "\n").suffix(5).joined(separator: " / ") }

    /// Creates a topic with `partitions` partitions, through Tansu's own CLI.
    public func createTopic(_ name: String, partitions: Int) async throws {
        let result = try await ProcessRunner.run(
            executable,
            ["topic", "create", name, "--broker", "tcp://\(bootstrapServers)", "--partitions", String(partitions)],
            currentDirectory: directory)
        guard result.status == 0 else {
            throw TansuTestBrokerError("tansu topic create \(name) exited with \(result.status): \(result.output)")
        }
    }

    public func createTestTopic(_ name: String, partitions: Int) async throws {
        try await createTopic(name, partitions: partitions)
    }

    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and removes its folder. Idempotent.
    public func stop() async {
        guard stopped.setOnce() else { return }
        if !exited.withLock({ $0 }) {
            let pid = pid
            let executable = executable
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                Thread.detachNewThread {
                    kill(pid, SIGTERM)
                    for _ in 0..<500 {
                        if ProcessRunner.exitStatus(pid) != nil { return continuation.resume() }
                        usleep(10_000)
                    }
                    kill(pid, SIGKILL)
                    _ = try? ProcessRunner.waitForExit(pid, executable: executable)
                    continuation.resume()
                }
            }
        }
        TansuBrokerRegistry.shared.unregister(pid: pid)
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: - Shared instance

    /// The process-wide broker, started on first use and stopped at exit.
    public static func shared() async throws -> TansuTestBroker {
        try await SharedTansuTestBroker.instance.broker()
    }
}

/// Starts the process-wide broker once, however many tests ask at the same time.
private actor SharedTansuTestBroker {
    static let instance = SharedTansuTestBroker()

    /// The single start attempt, shared by every caller (a memoized result, not background work).
    private var starting: Task<TansuTestBroker, any Error>?

    func broker() async throws -> TansuTestBroker {
        if let starting { return try await starting.value }
        let task = Task { try await TansuTestBroker.start() }
        starting = task
        return try await task.value
    }
}

/// Why a throwaway Tansu broker could not be started or used.
public struct TansuTestBrokerError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
