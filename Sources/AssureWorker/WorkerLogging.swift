import Foundation
import Logging
import WorkerRuntime

/// The process's loggers: `ASSURE_LOG_LEVEL` (default `info`) and `ASSURE_LOG_FORMAT` (`text`, the
/// default, or `json`), written to standard error.
enum WorkerLogging {
    /// Installs the log handler of the process, once, before any command makes a logger. A bad
    /// `ASSURE_LOG_FORMAT` falls back to text here; `run` refuses it with a one-line reason.
    static func bootstrap(_ env: [String: String] = ProcessInfo.processInfo.environment) {
        let format = (try? AssureConfiguration.parseLogFormat(env)) ?? .text
        switch format {
        case .text:
            break  // swift-log's default: text lines on standard error.
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label) }
        }
    }

    /// A logger at `ASSURE_LOG_LEVEL`, or at `unset` while that is not set.
    static func makeLogger(_ label: String, unset: Logger.Level = .info) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = AssureConfiguration.logLevel(unset: unset)
        return logger
    }
}
