import PostgresNIO

/// A database failure with a one-line reason that is safe to print and log.
///
/// The reason never contains a password: URLs are shown redacted, and server errors are reduced
/// to their SQLSTATE and message.
public struct DatabaseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for callers that branch on it.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private let raw: String
        private init(_ raw: String) { self.raw = raw }

        /// `ASSURE_DATABASE_URL` (or `--database-url`) could not be parsed.
        public static let invalidURL = Code("invalid_url")
        /// The server could not be reached (or refused us) within the retry policy.
        public static let unreachable = Code("unreachable")
        /// A migration failed; nothing of it was applied.
        public static let migrationFailed = Code("migration_failed")
        /// A query failed.
        public static let queryFailed = Code("query_failed")

        public var description: String { raw }
    }

    public var code: Code
    /// One line, no trailing period, suitable for `assure-worker: <reason>`.
    public var reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        // Keep the promise of one line even when a server message spans several.
        self.reason = reason.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    public var description: String { reason }

    /// A short, single-line description of any error thrown by PostgresNIO or the pool.
    ///
    /// `PSQLError.description` is deliberately generic; this pulls out the SQLSTATE, server message
    /// and underlying network error, which carry no credentials.
    public static func describe(_ error: any Error) -> String {
        if let error = error as? DatabaseError { return error.reason }
        if let error = error as? PostgresTransactionError, let cause = error.cause { return describe(cause) }
        if let error = error as? PSQLError {
            if let info = error.serverInfo {
                let state = info[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                let message = info[.message] ?? "server error"
                let detail = info[.detail].map { ": \($0)" } ?? ""
                return message + detail + state
            }
            if let underlying = error.underlying {
                return "\(error.code): \(describe(underlying))"
            }
            return "\(error.code)"
        }
        if let error = error as? IOError { return error.description }
        return String(describing: error)
    }

    /// The SQLSTATE of a server error, if `error` is one.
    public static func sqlState(of error: any Error) -> String? {
        if let error = error as? PostgresTransactionError, let cause = error.cause { return sqlState(of: cause) }
        return (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}

extension PostgresTransactionError {
    /// The error that made the transaction fail: of BEGIN, of the work inside it, or of COMMIT.
    var cause: (any Error)? { closureError ?? commitError ?? beginError }
}

extension DatabaseError {
    /// Whether retrying the same work can succeed: the connection or the pool failed, the server is
    /// restarting or short of resources, or the transaction lost a serialization race or a deadlock.
    ///
    /// Everything else is deterministic: a server refusal of the data (SQLSTATE classes 22 and 54,
    /// constraints, …) or an error of our own code (encoding, checked arithmetic). Such work is never
    /// retried forever: a batch is split to find the record at fault (see `ConsumerWorker`).
    public static func isTransient(_ error: any Error) -> Bool {
        if error is CancellationError || EntityStateRepository.isVersionConflict(error) { return true }
        if let error = error as? DatabaseError { return error.code == .unreachable }
        if let state = sqlState(of: error) {
            if state == "57014" { return false }  // statement timeout: a smaller batch can pass
            let transientClasses = ["08", "40", "53", "57", "58"]
            return transientClasses.contains(where: state.hasPrefix) || state == "55P03" || state == "55006"
        }
        if let error = error as? PostgresTransactionError, let cause = error.cause { return isTransient(cause) }
        // Without a server answer: the connection, the pool or the network.
        if let error = error as? PSQLError { return error.code != .tooManyParameters }
        return error is IOError || error is ChannelError
    }
}
