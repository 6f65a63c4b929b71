import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The data folders of servers this process started, so they are stopped when it exits.
///
/// `atexit` cannot run async code or start processes reliably, so shutdown here is a signal:
/// SIGQUIT is PostgreSQL's "immediate shutdown", the postmaster takes its children down with it.
final class PostgresServerRegistry: Sendable {
    private struct State {
        var dataDirectories: Set<String> = []
        var installedExitHandler = false
    }

    private let state = Mutex(State())

    static let shared = PostgresServerRegistry()

    /// The prefix of data folders under the temporary folder: `assure-pg-<pid>-<random>`.
    static let directoryPrefix = "assure-pg-"

    func register(_ dataDirectory: String) {
        let installHandler = state.withLock { state in
            state.dataDirectories.insert(dataDirectory)
            defer { state.installedExitHandler = true }
            return !state.installedExitHandler
        }
        if installHandler { atexit { PostgresServerRegistry.shared.stopAllAtExit() } }
    }

    func unregister(_ dataDirectory: String) {
        _ = state.withLock { $0.dataDirectories.remove(dataDirectory) }
    }

    private func stopAllAtExit() {
        let directories = state.withLock { state in
            defer { state.dataDirectories = [] }
            return state.dataDirectories
        }
        for directory in directories {
            Self.killServer(dataDirectory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Sends SIGQUIT to the postmaster of `dataDirectory` and waits up to 2 s for it to go.
    /// Blocking: only for process exit and for sweeping leftovers before a start.
    static func killServer(dataDirectory: String) {
        guard let text = try? String(contentsOfFile: dataDirectory + "/postmaster.pid", encoding: .utf8),
            let firstLine = text.split(separator: "\n").first, let pid = pid_t(firstLine.trimmingCharacters(in: .whitespaces)),
            pid > 0
        else { return }
        guard kill(pid, SIGQUIT) == 0 else { return }
        for _ in 0..<200 where kill(pid, 0) == 0 {
            usleep(10_000)
        }
    }

    /// Stops and removes servers left behind by test processes that died without running their
    /// exit handlers (SIGKILL, a crash).
    static func sweepLeftovers(in baseDirectory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: baseDirectory) else { return }
        for name in names where name.hasPrefix(directoryPrefix) {
            let rest = name.dropFirst(directoryPrefix.count)
            guard let pidText = rest.split(separator: "-").first, let owner = pid_t(pidText) else { continue }
            // The owning test process is still alive (or is us): not a leftover.
            if owner == getpid() || kill(owner, 0) == 0 || errno == EPERM { continue }
            let directory = baseDirectory + "/" + name
            killServer(dataDirectory: directory)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
