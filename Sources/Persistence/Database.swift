import Logging
import PostgresNIO
import ServiceLifecycle

/// The worker's PostgreSQL access: a configured `PostgresClient` plus start-up checks and migrations.
///
/// - Important: the pool must be running before any query: put the `Database` (or its `client`)
///   first in the `ServiceGroup`, or use `Database.withDatabase`. `run()` ends when its task is
///   cancelled or on graceful shutdown, closing the pool's connections; call `waitUntilReachable()`
///   before starting the other services so a bad URL or a down server fails start-up.
public final class Database: Service, Sendable {
    public let configuration: DatabaseConfiguration
    /// The connection pool, for queries and transactions.
    public let client: PostgresClient
    public let logger: Logger

    public init(configuration: DatabaseConfiguration, logger: Logger) throws(DatabaseError) {
        self.configuration = configuration
        self.logger = logger
        self.client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
    }

    /// Runs the connection pool until cancelled or gracefully shut down (`Service`).
    public func run() async {
        await client.run()
    }

    /// Runs `body` with a `Database` whose pool runs in a child task for the duration.
    ///
    /// For tests and one-shot commands (`migrate`); the worker puts `Database` into its
    /// `ServiceGroup` instead. When `retry` is given, waits for the server first
    /// (see `waitUntilReachable(retry:)`).
    public static func withDatabase<Result: Sendable>(
        configuration: DatabaseConfiguration,
        logger: Logger,
        retry: ConnectRetryPolicy? = .default,
        _ body: (Database) async throws -> Result
    ) async throws -> Result {
        let database = try Database(configuration: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.run() }
            do {
                if let retry { try await database.waitUntilReachable(retry: retry) }
                let result = try await body(database)
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// Opens and closes one connection, retrying with backoff while the server is unreachable.
    ///
    /// Failures the server reports definitively (wrong password, unknown database, …) are not
    /// retried; "starting up" and "too many connections" are.
    /// - Throws: `DatabaseError` with code `.unreachable` and a one-line reason.
    public func waitUntilReachable(retry policy: ConnectRetryPolicy = .default) async throws(DatabaseError) {
        let connectionConfiguration = try configuration.connectionConfiguration()
        let clock = ContinuousClock()
        let start = clock.now
        var attempt = 0
        while true {
            attempt += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: connectionConfiguration, id: attempt, logger: logger
                )
                try? await connection.close()
                if attempt > 1 {
                    logger.info("database reachable", metadata: ["assure.db.attempts": "\(attempt)"])
                }
                return
            } catch {
                let reason = DatabaseError.describe(error)
                let elapsed = start.duration(to: clock.now)
                let delay = policy.delay(afterAttempt: attempt)
                let retryable = Self.isRetryableConnectError(error)
                guard retryable, attempt < policy.maximumAttempts, elapsed + delay < policy.deadline,
                    !Task.isCancelled
                else {
                    let tries = attempt == 1 ? "" : " after \(attempt) attempts"
                    throw DatabaseError(.unreachable, "cannot connect to \(configuration.redactedURL)\(tries): \(reason)")
                }
                logger.warning(
                    "database not reachable yet, retrying",
                    metadata: [
                        "assure.db.url": "\(configuration.redactedURL)", "assure.db.attempt": "\(attempt)",
                        "assure.db.error": "\(reason)",
                    ]
                )
                do { try await Task.sleep(for: delay) } catch {
                    throw DatabaseError(.unreachable, "cancelled while connecting to \(configuration.redactedURL)")
                }
            }
        }
    }

    /// Whether a failed connect may succeed later: network errors and server states like
    /// "starting up" (class 57) or "too many connections" (class 53) may; authentication or
    /// unknown-database errors will not.
    static func isRetryableConnectError(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return true }
        if let state = error.serverInfo?[.sqlState] {
            return state.hasPrefix("57") || state.hasPrefix("53") || state.hasPrefix("08")
        }
        switch error.code {
        case .unsupportedAuthMechanism, .authMechanismRequiresPassword, .saslError, .sslUnsupported:
            return false
        default:
            return true
        }
    }
}
