import Foundation
import Synchronization

/// One child process of the benchmark (`assure-worker run` or `migrate`), its output in a log file.
final class BenchProcess: Sendable {
    let name: String
    let pid: Int32
    let logPath: String
    private let process: Mutex<Process?>
    private let exits: AsyncStream<Int32>
    private let exitStatus = ExitStatus()

    /// The `assure-worker` binary of this process, so children run exactly what the benchmark runs.
    static func ownExecutable() throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }

    init(name: String, arguments: [String], environment: [String: String], directory: String) throws {
        self.name = name
        logPath = "\(directory)/\(name).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        defer { try? output.close() }
        let child = Process()
        child.executableURL = URL(fileURLWithPath: try Self.ownExecutable())
        child.arguments = arguments
        child.environment = environment
        child.standardInput = FileHandle.nullDevice
        child.standardOutput = output
        child.standardError = output
        let (stream, continuation) = AsyncStream<Int32>.makeStream(bufferingPolicy: .bufferingNewest(1))
        exits = stream
        let status = exitStatus
        child.terminationHandler = { finished in
            status.value.withLock { $0 = finished.terminationStatus }
            continuation.yield(finished.terminationStatus)
            continuation.finish()
        }
        try child.run()
        pid = child.processIdentifier
        process = Mutex(child)
    }

    var hasExited: Bool { exitStatus.value.withLock { $0 != nil } }

    /// Waits up to `timeout` for the exit; returns its status, or nil if it is still running.
    func waitForExit(timeout: Duration) async -> Int32? {
        if let status = exitStatus.value.withLock({ $0 }) { return status }
        let exits = self.exits
        return await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await status in exits { return status }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? exitStatus.value.withLock { $0 }
        }
    }

    /// SIGTERM, a graceful exit within `grace`, else SIGKILL.
    func stop(grace: Duration = .seconds(30)) async {
        guard !hasExited else { return }
        kill(pid, SIGTERM)
        if await waitForExit(timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = await waitForExit(timeout: .seconds(10))
        }
        process.withLock { $0 = nil }
    }

    /// Peak resident set size in bytes (`VmHWM` of /proc/<pid>/status), nil once the process is gone.
    func peakRSSBytes() -> Int64? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kilobytes = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
            return kilobytes.flatMap { Int64($0) }.map { $0 * 1024 }
        }
        return nil
    }

    /// The last lines of its output, for error messages.
    func logTail(lines: Int = 20) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

/// The child's exit status, shared with Foundation's termination handler.
private final class ExitStatus: Sendable {
    let value = Mutex<Int32?>(nil)
}
