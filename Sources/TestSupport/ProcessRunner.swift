import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The exit status and combined stdout/stderr of a finished child process.
struct ProcessResult: Sendable {
    /// The exit code, or 128 + the signal number if it was killed.
    var status: Int32
    var output: String
}

/// Runs helper programs (initdb, pg_ctl, pg_config) without blocking Swift's cooperative pool.
///
/// Not Foundation's `Process`: its termination handler did not fire for `pg_ctl start`, whose
/// daemonized postgres outlives it (seen with swift-corelibs-foundation in Swift 6.3). Here the
/// child gets only stdin (/dev/null) and stdout/stderr (a temporary file), every other descriptor
/// is closed, and a dedicated thread `waitpid`s for exactly that child.
enum ProcessRunner {
    static func run(
        _ executable: String, _ arguments: [String], currentDirectory: String? = nil
    ) async throws -> ProcessResult {
        let outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("assure-proc-\(UUID().uuidString).log").path
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(
                    with: Result {
                        try spawnAndWait(executable, arguments, currentDirectory: currentDirectory, outputPath: outputPath)
                    }
                )
            }
        }
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        return ProcessResult(status: status, output: text)
    }

    /// Blocking: spawns and reaps one child. Call only from a dedicated thread.
    private static func spawnAndWait(
        _ executable: String, _ arguments: [String], currentDirectory: String?, outputPath: String
    ) throws -> Int32 {
        let pid = try spawn(executable, arguments, currentDirectory: currentDirectory, outputPath: outputPath)
        return try waitForExit(pid, executable: executable)
    }

    /// Starts a child that runs on its own (a server), with stdout/stderr in `outputPath`; the caller
    /// reaps it with ``exitStatus(_:)`` or ``waitForExit(_:executable:)``. Does not block.
    static func spawn(
        _ executable: String, _ arguments: [String], currentDirectory: String?, outputPath: String
    ) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let closeFrom = GlibcSpawnExtensions.addCloseFrom { _ = closeFrom(&actions, 3) }
        if let currentDirectory, let addChdir = GlibcSpawnExtensions.addChdir {
            _ = currentDirectory.withCString { addChdir(&actions, $0) }
        }

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = argv.withUnsafeBufferPointer { argvBuffer in
            posix_spawn(&pid, executable, &actions, nil, argvBuffer.baseAddress!, environ)
        }
        guard spawned == 0 else {
            throw PostgresTestServerError("cannot run \(executable): \(String(cString: strerror(spawned)))")
        }
        return pid
    }

    /// Blocking: waits for `pid` to exit and returns its status. Call only from a dedicated thread.
    static func waitForExit(_ pid: pid_t, executable: String) throws -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else {
                throw PostgresTestServerError("waitpid for \(executable) failed: errno \(errno)")
            }
        }
        return decode(status)
    }

    /// The exit status of `pid` if it has exited (and is now reaped), nil while it runs. Does not block.
    static func exitStatus(_ pid: pid_t) -> Int32? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? decode(status) : nil
    }

    /// The exit code, or 128 + the signal number. WIFEXITED / WEXITSTATUS / WTERMSIG are macros Swift
    /// does not import.
    private static func decode(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// The first executable named `name` on `PATH` (plus the sbin folders `runuser` lives in).
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let folders = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34) and `…_addchdir_np` (2.29), looked up
/// at run time: Swift's Glibc module does not import these GNU extensions. Nil where missing, and
/// then the child simply inherits more descriptors or our working directory.
private enum GlibcSpawnExtensions {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    static let addCloseFrom: AddCloseFrom? = lookUp("posix_spawn_file_actions_addclosefrom_np")
    static let addChdir: AddChdir? = lookUp("posix_spawn_file_actions_addchdir_np")

    private static func lookUp<Function>(_ name: String) -> Function? {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }
        return unsafeBitCast(symbol, to: Function.self)
        #else
        return nil
        #endif
    }
}
