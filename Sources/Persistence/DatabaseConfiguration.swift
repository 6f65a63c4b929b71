import Foundation
import PostgresNIO

/// Where and how to reach PostgreSQL, parsed from a `postgres://user:pass@host:port/db` URL.
public struct DatabaseConfiguration: Sendable, Hashable, CustomStringConvertible {
    /// libpq's `sslmode` values. `prefer` and `require` encrypt without verifying the
    /// certificate (as libpq does without a root certificate); the `verify-*` modes verify.
    public enum TLSMode: String, Sendable, Hashable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// The contract's default `ASSURE_DATABASE_URL`.
    public static let defaultURL = "postgres://postgres@localhost:5432/postgres"

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tlsMode: TLSMode
    /// Upper bound of the client's connection pool.
    public var maximumConnections: Int
    /// How long one connection attempt may take.
    public var connectTimeout: Duration

    public init(
        host: String, port: Int = 5432, username: String = "postgres", password: String? = nil,
        database: String = "postgres", tlsMode: TLSMode = .prefer, maximumConnections: Int = 20,
        connectTimeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
    }

    /// Parses `postgres://` or `postgresql://` URLs.
    ///
    /// User, password and database are percent-decoded. The user defaults to `postgres`, the port
    /// to 5432 and the database to the user name (as libpq does). Of the query parameters only
    /// `sslmode` is interpreted (default `prefer`); others are tolerated and ignored.
    /// - Throws: `DatabaseError` with code `.invalidURL` and a reason naming the bad part.
    public static func parse(url: String) throws(DatabaseError) -> DatabaseConfiguration {
        func invalid(_ why: String) -> DatabaseError {
            DatabaseError(.invalidURL, "invalid database URL '\(redact(url))': \(why)")
        }
        let trimmed = url.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw invalid("it is empty") }
        guard let schemeEnd = trimmed.range(of: "://") else {
            throw invalid("expected postgres://user:password@host:port/database")
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw invalid("scheme must be postgres:// or postgresql://, not \(scheme)://")
        }
        var rest = trimmed[schemeEnd.upperBound...]

        var queryPart: Substring = ""
        if let q = rest.firstIndex(of: "?") {
            queryPart = rest[rest.index(after: q)...]
            rest = rest[..<q]
        }
        var pathPart: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            pathPart = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var hostPort = rest
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            hostPort = rest[rest.index(after: at)...]
            let userPart: Substring
            if let colon = userInfo.firstIndex(of: ":") {
                userPart = userInfo[..<colon]
                guard let decoded = userInfo[userInfo.index(after: colon)...].removingPercentEncoding else {
                    throw invalid("the password has a bad percent-encoding")
                }
                password = decoded
            } else {
                userPart = userInfo
            }
            guard let decoded = userPart.removingPercentEncoding else {
                throw invalid("the user name has a bad percent-encoding")
            }
            user = decoded.isEmpty ? nil : decoded
        }

        var host: Substring
        var portText: Substring?
        if hostPort.hasPrefix("[") {
            // IPv6 literal: [::1]:5432
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("unclosed '[' in the host") }
            host = hostPort[hostPort.index(after: hostPort.startIndex)..<close]
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after the IPv6 host") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = hostPort[..<colon]
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = hostPort
        }
        guard !host.isEmpty else { throw invalid("the host is missing") }
        guard !host.contains(where: { $0.isWhitespace || $0 == "," || $0 == ":" || $0 == "[" || $0 == "]" })
            || hostPort.hasPrefix("[")
        else {
            throw invalid("the host '\(host)' is not a single host name")
        }

        var port = 5432
        if let portText {
            guard let value = Int(portText), (1...65_535).contains(value) else {
                throw invalid("the port '\(portText)' is not a number between 1 and 65535")
            }
            port = value
        }

        guard let database = pathPart.removingPercentEncoding else {
            throw invalid("the database name has a bad percent-encoding")
        }
        guard !database.contains("/") else { throw invalid("the database name '\(database)' contains '/'") }

        var tlsMode = TLSMode.prefer
        for pair in queryPart.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == "sslmode" else { continue }
            let value = parts.count > 1 ? String(parts[1]) : ""
            guard let mode = TLSMode(rawValue: value) else {
                let allowed = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                throw invalid("sslmode '\(value)' is not one of \(allowed)")
            }
            tlsMode = mode
        }

        let username = user ?? "postgres"
        return DatabaseConfiguration(
            host: String(host), port: port, username: username, password: password,
            database: database.isEmpty ? username : database, tlsMode: tlsMode
        )
    }

    /// The URL with its password replaced by `***`.
    public var redactedURL: String {
        let userInfo = username + (password == nil ? "" : ":***")
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(userInfo)@\(hostText):\(port)/\(database)?sslmode=\(tlsMode.rawValue)"
    }

    public var description: String { redactedURL }

    /// The URL including the password (percent-encoded), for handing to another process; not for logs.
    public var url: String {
        func encode(_ text: String) -> String {
            text.addingPercentEncoding(withAllowedCharacters: Self.userInfoAllowed) ?? text
        }
        let userInfo = encode(username) + (password.map { ":" + encode($0) } ?? "")
        let hostText = host.contains(":") ? "[\(host)]" : host
        return "postgres://\(userInfo)@\(hostText):\(port)/\(encode(database))?sslmode=\(tlsMode.rawValue)"
    }

    private static let userInfoAllowed: CharacterSet = {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()

    /// The same server, another database (tests create one per suite).
    public func with(database: String) -> DatabaseConfiguration {
        var copy = self
        copy.database = database
        return copy
    }

    /// The configuration for PostgresNIO's connection pool.
    public func clientConfiguration() throws(DatabaseError) -> PostgresClient.Configuration {
        let tls: PostgresClient.Configuration.TLS
        switch tlsMode {
        case .disable: tls = .disable
        case .allow, .prefer: tls = .prefer(tlsConfiguration)
        case .require, .verifyCA, .verifyFull: tls = .require(tlsConfiguration)
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        return configuration
    }

    /// The configuration for one direct connection (the start-up probe).
    public func connectionConfiguration() throws(DatabaseError) -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS
        do {
            switch tlsMode {
            case .disable: tls = .disable
            case .allow, .prefer: tls = .prefer(try NIOSSLContext(configuration: tlsConfiguration))
            case .require, .verifyCA, .verifyFull: tls = .require(try NIOSSLContext(configuration: tlsConfiguration))
            }
        } catch {
            throw DatabaseError(.invalidURL, "cannot set up TLS for sslmode=\(tlsMode.rawValue): \(error)")
        }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls
        )
        configuration.options.connectTimeout = .nanoseconds(
            connectTimeout.components.seconds * 1_000_000_000 + connectTimeout.components.attoseconds / 1_000_000_000
        )
        return configuration
    }

    private var tlsConfiguration: TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch tlsMode {
        case .disable, .allow, .prefer, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        return tls
    }

    /// Hides the password of a URL that may not parse, for error messages.
    static func redact(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let afterScheme = url[schemeEnd.upperBound...]
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") else {
            return url
        }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }
}
