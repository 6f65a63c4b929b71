import Foundation
import Synchronization

/// `assure-worker run` as a child process, for crash tests.
final class ChildWorker: Sendable {
    let executable: URL
    let environment: [String: String]
    private let process = Mutex<Process?>(nil)
    private let outputs = Mutex<[(path: String, removable: Bool)]>([])

    /// The built `assure-worker` next to the test bundle.
    static func executableURL() throws -> URL {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for configuration in ["debug", "release"] {
            let url = root.appendingPathComponent(".build/\(configuration)/assure-worker")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        throw WorkerProbe.Timeout(description: "assure-worker is not built: run swift build first")
    }

    /// A worker of `env`'s group; `overrides` (for example `ASSURE_HTTP_PORT`) are applied last.
    init(env: WorkerTestEnvironment, settleMs: Int64, overrides: [String: String] = [:]) throws {
        executable = try Self.executableURL()
        var environment = ProcessInfo.processInfo.environment
        environment["ASSURE_KAFKA_BROKERS"] = env.cluster.bootstrapServers
        environment["ASSURE_DATABASE_URL"] = env.database.url
        environment["ASSURE_GROUP_ID"] = env.groupId
        environment["ASSURE_TOPIC_PREFIX"] = env.topics.prefix
        environment["ASSURE_SETTLE_MS"] = String(settleMs)
        environment["ASSURE_HTTP_PORT"] = "0"
        environment["ASSURE_LOG_LEVEL"] = "warning"
        environment["ASSURE_RDKAFKA_SESSION_TIMEOUT_MS"] = "4000"
        environment["ASSURE_RDKAFKA_HEARTBEAT_INTERVAL_MS"] = "500"
        environment["ASSURE_RDKAFKA_RECONNECT_BACKOFF_MAX_MS"] = "500"
        environment["ASSURE_COMMAND_KEY"] = "test-command-key"
        if let level = ProcessInfo.processInfo.environment["ASSURE_TEST_WORKER_LOG_LEVEL"] {
            environment["ASSURE_LOG_LEVEL"] = level
        }
        environment.merge(overrides) { _, override in override }
        self.environment = environment
    }

    /// Runs another subcommand with the worker's environment; returns its exit status and output.
    func runCommand(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        try await Self.run(executable, arguments, environment: environment)
    }

    /// Runs `executable` to its end and returns its exit status and output (standard output and error).
    ///
    /// Output goes to a temporary file, not a pipe: a pipe's write end can leak into a child another test
    /// spawns at the same moment, and then its end of file never comes.
    static func run(_ executable: URL, _ arguments: [String], environment: [String: String]? = nil) async throws
        -> (status: Int32, output: String)
    {
        let outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("assure-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: outputURL) }
        let output = try FileHandle(forWritingTo: outputURL)
        defer { try? output.close() }
        let child = Process()
        child.executableURL = executable
        child.arguments = arguments
        if let environment { child.environment = environment }
        child.standardOutput = output
        child.standardError = output
        let status = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            child.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try child.run()
            } catch {
                child.terminationHandler = nil
                continuation.resume(returning: -1)
            }
        }
        return (status, String(decoding: try Data(contentsOf: outputURL), as: UTF8.self))
    }

    /// Starts `assure-worker <arguments>` (default `run`) in the background.
    func start(_ arguments: [String] = ["run"]) throws {
        let child = Process()
        child.executableURL = executable
        child.arguments = arguments
        child.environment = environment
        // Output goes to a file, read by `output()`; ASSURE_TEST_WORKER_LOG_DIR keeps the files for
        // diagnosing a drill (elsewhere they are removed with the worker).
        let kept = ProcessInfo.processInfo.environment["ASSURE_TEST_WORKER_LOG_DIR"]
        let path = "\(kept ?? FileManager.default.temporaryDirectory.path)/worker-\(UUID().uuidString.prefix(8)).log"
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        child.standardOutput = log
        child.standardError = log
        outputs.withLock { $0.append((path, removable: kept == nil)) }
        try child.run()
        process.withLock { $0 = child }
    }

    /// SIGKILL: no graceful shutdown, no flush, no commit.
    func kill() async {
        await signal(SIGKILL)
    }

    /// SIGSTOP: the process freezes (no heartbeats, no commits) until ``resume()``.
    func suspend() {
        if let child = process.withLock({ $0 }) { Foundation.kill(child.processIdentifier, SIGSTOP) }
    }

    /// SIGCONT after ``suspend()``.
    func resume() {
        if let child = process.withLock({ $0 }) { Foundation.kill(child.processIdentifier, SIGCONT) }
    }

    /// Whether the child process is still alive.
    var isRunning: Bool { process.withLock { $0?.isRunning ?? false } }

    /// SIGTERM and wait for a graceful exit.
    func terminate() async {
        await signal(SIGTERM)
    }

    /// Sends `signal` and waits for the exit without blocking a thread of the cooperative pool.
    private func signal(_ number: Int32) async {
        guard let child = process.withLock({ $0 }) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = Mutex(false)
            child.terminationHandler = { _ in
                if !exited.withLock({ old in defer { old = true }; return old }) { continuation.resume() }
            }
            if !child.isRunning, !exited.withLock({ old in defer { old = true }; return old }) {
                continuation.resume()
                return
            }
            Foundation.kill(child.processIdentifier, number)
        }
    }

    /// What the worker wrote to standard output and error, over every start.
    func output() -> String {
        outputs.withLock { $0 }.map { String(decoding: FileManager.default.contents(atPath: $0.path) ?? Data(), as: UTF8.self) }
            .joined()
    }

    deinit {
        process.withLock { $0 }.map { if $0.isRunning { $0.terminate() } }
        for output in outputs.withLock({ $0 }) where output.removable { try? FileManager.default.removeItem(atPath: output.path) }
    }
}
