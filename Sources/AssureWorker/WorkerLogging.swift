import Foundation
import Logging

/// The process's loggers: `ASSURE_LOG_LEVEL` (default `info`), written to standard error.
enum WorkerLogging {
    static func makeLogger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        let level = ProcessInfo.processInfo.environment["ASSURE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        logger.logLevel = level ?? .info
        return logger
    }
}
