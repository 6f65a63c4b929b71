import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The Tansu brokers this process started, so they are killed when it exits.
///
/// `atexit` cannot run async code, so shutdown here is SIGKILL: the broker keeps everything in memory
/// and there is nothing to flush. Each broker's folder holds `tansu.pid`, so a later process can sweep
/// brokers whose owner died without running its exit handlers.
final class TansuBrokerRegistry: Sendable {
    private struct State {
        var brokers: [pid_t: String] = [:]
        var installedExitHandler = false
    }

    private let state = Mutex(State())

    static let shared = TansuBrokerRegistry()

    /// The prefix of broker folders under the temporary folder: `assure-tansu-<owner pid>-<random>`.
    static let directoryPrefix = "assure-tansu-"

    func register(pid: pid_t, directory: String) {
        try? "\(pid)\n".write(toFile: directory + "/tansu.pid", atomically: true, encoding: .utf8)
        let installHandler = state.withLock { state in
            state.brokers[pid] = directory
            defer { state.installedExitHandler = true }
            return !state.installedExitHandler
        }
        if installHandler { atexit { TansuBrokerRegistry.shared.killAllAtExit() } }
    }

    func unregister(pid: pid_t) {
        state.withLock { $0.brokers[pid] = nil }
    }

    private func killAllAtExit() {
        let running = state.withLock { state in
            defer { state.brokers = [:] }
            return state.brokers
        }
        for (pid, directory) in running {
            kill(pid, SIGKILL)
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Kills and removes brokers left behind by processes that died without running their exit
    /// handlers (SIGKILL, a crash). Only a pid whose command line still names Tansu is signalled.
    static func sweepLeftovers(in baseDirectory: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: baseDirectory) else { return }
        for name in names where name.hasPrefix(directoryPrefix) {
            let rest = name.dropFirst(directoryPrefix.count)
            guard let ownerText = rest.split(separator: "-").first, let owner = pid_t(ownerText) else { continue }
            // The owning process is still alive (or is us): not a leftover.
            if owner == getpid() || kill(owner, 0) == 0 || errno == EPERM { continue }
            let directory = baseDirectory + "/" + name
            if let text = try? String(contentsOfFile: directory + "/tansu.pid", encoding: .utf8),
                let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
                let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                command.contains("tansu")
            {
                kill(pid, SIGKILL)
            }
            try? FileManager.default.removeItem(atPath: directory)
        }
    }
}
