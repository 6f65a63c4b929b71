import Foundation
import Synchronization
import Logging
import Persistence
import PostgresNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A throwaway PostgreSQL server for tests and the demo, or an existing one named by
/// `ASSURE_TEST_DATABASE_URL`.
///
/// Tests use `PostgresTestServer.shared()` (one server per process, started lazily) and
/// `withFreshDatabase { database in … }`, which gives each test its own migrated database, so tests
/// are isolated and may run in parallel.
/// - Important: a server started here is stopped by `stop()` and, failing that, when the process
///   exits (an `atexit` handler); leftovers of killed test processes are swept at the next start.
public final class PostgresTestServer: Sendable {
    /// `ASSURE_TEST_PG_OPTIONS`, appended to the options of servers started here (for profiling,
    /// e.g. `-c log_min_duration_statement=10`).
    static var extraServerOptions: String {
        ProcessInfo.processInfo.environment["ASSURE_TEST_PG_OPTIONS"].map { " " + $0 } ?? ""
    }

    /// The server's maintenance database (`postgres`), used to create and drop test databases.
    public let configuration: DatabaseConfiguration
    /// The data folder of a server we started; nil for an external server.
    public let dataDirectory: String?
    private let binDirectory: String?
    private let stopped = LockedFlag()

    /// `postgres://postgres@127.0.0.1:<port>/postgres?sslmode=disable` for a started server
    /// (with the password, if an external server has one: not for logs).
    public var url: String { configuration.url }

    private init(configuration: DatabaseConfiguration, dataDirectory: String?, binDirectory: String?) {
        self.configuration = configuration
        self.dataDirectory = dataDirectory
        self.binDirectory = binDirectory
    }

    // MARK: - Starting

    /// The server tests should use: `ASSURE_TEST_DATABASE_URL` if set, else a new local one.
    public static func startFromEnvironment(logger: Logger = Logger(label: "assure.test.postgres")) async throws
        -> PostgresTestServer
    {
        if let url = ProcessInfo.processInfo.environment["ASSURE_TEST_DATABASE_URL"], !url.isEmpty {
            return try external(url: url)
        }
        return try await start(logger: logger)
    }

    /// Uses an already running server; `stop()` leaves it running.
    public static func external(url: String) throws -> PostgresTestServer {
        PostgresTestServer(configuration: try DatabaseConfiguration.parse(url: url), dataDirectory: nil, binDirectory: nil)
    }

    /// Initializes a fresh cluster in a temporary folder and starts it on a free loopback port.
    ///
    /// As root, `initdb`/`pg_ctl` run as user `postgres` (initdb refuses root) in a folder owned by it.
    /// Durability is off (`fsync`, `synchronous_commit`, `full_page_writes`) unless `durable` is true:
    /// the data is thrown away, but a benchmark wants commits that really reach the disk.
    public static func start(
        durable: Bool = false, logger: Logger = Logger(label: "assure.test.postgres")
    ) async throws -> PostgresTestServer {
        let binDirectory = try await findBinDirectory()
        let baseDirectory = "/tmp"
        await offPool { PostgresServerRegistry.sweepLeftovers(in: baseDirectory) }

        let dataDirectory = "\(baseDirectory)/\(PostgresServerRegistry.directoryPrefix)\(getpid())-\(randomSuffix())"
        try FileManager.default.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700]
        )
        let runAs = try postgresUserIfRoot()
        if let runAs, chown(dataDirectory, runAs.uid, runAs.gid) != 0 {
            try? FileManager.default.removeItem(atPath: dataDirectory)
            throw PostgresTestServerError("cannot chown \(dataDirectory) to postgres: errno \(errno)")
        }
        // From here on, a failure must not leave the folder (or a server) behind.
        PostgresServerRegistry.shared.register(dataDirectory)
        var server: PostgresTestServer?
        do {
            try await runTool(
                binDirectory + "/initdb",
                ["-D", dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-locale", "--no-sync"],
                asPostgres: runAs != nil, what: "initdb"
            )
            var lastError: (any Error)?
            for _ in 0..<3 {
                let port = try freeLoopbackPort()
                do {
                    try await runTool(
                        binDirectory + "/pg_ctl",
                        [
                            "-D", dataDirectory, "-l", dataDirectory + "/server.log", "-w", "-t", "60", "start", "-o",
                            "-p \(port) -k \(dataDirectory) -c listen_addresses=127.0.0.1 -c max_connections=300"
                                + (durable ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off")
                                + Self.extraServerOptions,
                        ],
                        asPostgres: runAs != nil, what: "pg_ctl start"
                    )
                    let configuration = DatabaseConfiguration(
                        host: "127.0.0.1", port: port, username: "postgres", password: nil, database: "postgres",
                        tlsMode: .disable
                    )
                    server = PostgresTestServer(
                        configuration: configuration, dataDirectory: dataDirectory, binDirectory: binDirectory
                    )
                    break
                } catch {
                    // Most likely someone took the port between our probe and the start.
                    lastError = error
                    logger.warning("PostgreSQL did not start, trying another port", metadata: ["assure.error": "\(error)"])
                }
            }
            guard let server else {
                throw lastError ?? PostgresTestServerError("PostgreSQL did not start")
            }
            logger.debug("PostgreSQL test server started", metadata: ["assure.db.url": "\(server.configuration.redactedURL)"])
            return server
        } catch {
            PostgresServerRegistry.killServer(dataDirectory: dataDirectory)
            PostgresServerRegistry.shared.unregister(dataDirectory)
            try? FileManager.default.removeItem(atPath: dataDirectory)
            throw error
        }
    }

    /// Stops a server this process started (immediate shutdown) and removes its folder. Idempotent;
    /// an external server is left running.
    public func stop() async {
        guard stopped.setOnce(), let dataDirectory, let binDirectory else { return }
        let asPostgres = (try? Self.postgresUserIfRoot()) != nil
        do {
            try await Self.runTool(
                binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"],
                asPostgres: asPostgres, what: "pg_ctl stop"
            )
        } catch {
            // pg_ctl failed (already stopped?): make sure with a signal. Off the cooperative pool.
            await Self.offPool { PostgresServerRegistry.killServer(dataDirectory: dataDirectory) }
        }
        try? FileManager.default.removeItem(atPath: dataDirectory)
        PostgresServerRegistry.shared.unregister(dataDirectory)
    }

    /// Restarts a server this process started (immediate shutdown, same port and options), as a
    /// database outage in fault drills. Clients lose their connections and must reconnect.
    public func restart() async throws {
        guard let dataDirectory, let binDirectory else {
            throw PostgresTestServerError("only a server this process started can be restarted")
        }
        try await Self.runTool(
            binDirectory + "/pg_ctl", [
                "-D", dataDirectory, "-l", dataDirectory + "/server.log", "-m", "immediate", "-w", "-t", "60", "restart",
            ],
            asPostgres: (try? Self.postgresUserIfRoot()) != nil, what: "pg_ctl restart")
    }

    // MARK: - Test databases

    /// Creates an empty database `<prefix>_<random>` and returns its configuration.
    public func createDatabase(prefix: String = "test") async throws -> DatabaseConfiguration {
        let safePrefix = String(prefix.lowercased().filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }.prefix(40))
        let name = "\(safePrefix.isEmpty ? "test" : safePrefix)_\(Self.randomSuffix())"
        try await withAdminConnection { connection, logger in
            _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \"\(name)\""), logger: logger)
        }
        return configuration.with(database: name)
    }

    /// Drops a database made by `createDatabase`, disconnecting whoever is still connected to it.
    public func dropDatabase(_ name: String) async throws {
        let quoted = name.replacingOccurrences(of: "\"", with: "\"\"")
        try await withAdminConnection { connection, logger in
            _ = try await connection.query(
                PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \"\(quoted)\" WITH (FORCE)"), logger: logger
            )
        }
    }

    /// Runs `body` with a running `Database` on a new database of this server (migrated unless
    /// `migrate` is false), and drops that database afterwards, also when `body` throws.
    public func withFreshDatabase<Result: Sendable>(
        migrate: Bool = true,
        logger: Logger = Logger(label: "assure.test.db"),
        _ body: (Database) async throws -> Result
    ) async throws -> Result {
        let databaseConfiguration = try await createDatabase()
        let result: Swift.Result<Result, any Error>
        do {
            let value = try await Database.withDatabase(
                configuration: databaseConfiguration, logger: logger, retry: .once
            ) { database in
                if migrate { try await database.migrate() }
                return try await body(database)
            }
            result = .success(value)
        } catch {
            result = .failure(error)
        }
        try? await dropDatabase(databaseConfiguration.database)
        return try result.get()
    }

    /// `withFreshDatabase` on the shared server.
    public static func withFreshDatabase<Result: Sendable>(
        migrate: Bool = true,
        logger: Logger = Logger(label: "assure.test.db"),
        _ body: (Database) async throws -> Result
    ) async throws -> Result {
        try await shared().withFreshDatabase(migrate: migrate, logger: logger, body)
    }

    // MARK: - Shared instance

    /// The process-wide server, started on first use (or `ASSURE_TEST_DATABASE_URL`), stopped at exit.
    public static func shared() async throws -> PostgresTestServer {
        try await SharedPostgresTestServer.instance.server()
    }

    // MARK: - Helpers

    private func withAdminConnection(
        _ body: (PostgresConnection, Logger) async throws -> Void
    ) async throws {
        let logger = Logger(label: "assure.test.postgres.admin")
        let connection = try await PostgresConnection.connect(
            configuration: try configuration.connectionConfiguration(), id: 0, logger: logger
        )
        do {
            try await body(connection, logger)
            try? await connection.close()
        } catch {
            try? await connection.close()
            throw PostgresTestServerError("on \(configuration.redactedURL): \(DatabaseError.describe(error))")
        }
    }

    private static func runTool(_ tool: String, _ arguments: [String], asPostgres: Bool, what: String) async throws {
        let result: ProcessResult
        if asPostgres {
            guard let runuser = ProcessRunner.which("runuser") else {
                throw PostgresTestServerError("running as root but runuser is missing (util-linux)")
            }
            result = try await ProcessRunner.run(runuser, ["-u", "postgres", "--", tool] + arguments, currentDirectory: "/tmp")
        } else {
            result = try await ProcessRunner.run(tool, arguments, currentDirectory: "/tmp")
        }
        guard result.status == 0 else {
            var detail = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if let dataIndex = arguments.firstIndex(of: "-D"), dataIndex + 1 < arguments.count,
                let log = try? String(contentsOfFile: arguments[dataIndex + 1] + "/server.log", encoding: .utf8)
            {
                detail += " | server.log: " + log.split(separator: "\n").suffix(5).joined(separator: " / ")
            }
            throw PostgresTestServerError("\(what) exited with \(result.status): \(detail)")
        }
    }

    /// `initdb`'s folder: `$ASSURE_PG_BINDIR`, `pg_config --bindir`, or the newest /usr/lib/postgresql/*/bin.
    static func findBinDirectory() async throws -> String {
        let fileManager = FileManager.default
        func hasServer(_ folder: String) -> Bool {
            fileManager.isExecutableFile(atPath: folder + "/initdb") && fileManager.isExecutableFile(atPath: folder + "/pg_ctl")
        }
        if let folder = ProcessInfo.processInfo.environment["ASSURE_PG_BINDIR"], hasServer(folder) { return folder }
        if let pgConfig = ProcessRunner.which("pg_config"),
            let result = try? await ProcessRunner.run(pgConfig, ["--bindir"]), result.status == 0
        {
            let folder = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
            if hasServer(folder) { return folder }
        }
        let versions = ((try? fileManager.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap(Int.init).sorted(by: >)
        if let folder = versions.map({ "/usr/lib/postgresql/\($0)/bin" }).first(where: hasServer) { return folder }
        if let initdb = ProcessRunner.which("initdb") {
            return (initdb as NSString).deletingLastPathComponent
        }
        throw PostgresTestServerError(
            "PostgreSQL server binaries (initdb, pg_ctl) not found: run scripts/install.sh, or set ASSURE_PG_BINDIR"
        )
    }

    /// The `postgres` account when we are root (initdb refuses root), else nil.
    private static func postgresUserIfRoot() throws -> (uid: uid_t, gid: gid_t)? {
        guard geteuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw PostgresTestServerError(
                "running as root needs the 'postgres' user (created by the postgresql package: scripts/install.sh)"
            )
        }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// A port the kernel just gave us for 127.0.0.1; free again once we close the socket.
    public static func freeLoopbackPort() throws -> Int {
        #if canImport(Glibc)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw PostgresTestServerError("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw PostgresTestServerError("bind() failed: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw PostgresTestServerError("getsockname() failed: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func randomSuffix() -> String {
        String(UInt64.random(in: 0...UInt64.max), radix: 36)
    }

    /// Runs blocking work on a dedicated thread, not on the cooperative pool.
    private static func offPool(_ work: @escaping @Sendable () -> Void) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                work()
                continuation.resume()
            }
        }
    }
}

/// Starts the process-wide server once, however many tests ask at the same time.
private actor SharedPostgresTestServer {
    static let instance = SharedPostgresTestServer()

    /// The single start attempt, shared by every caller (a memoized result, not background work).
    private var starting: Task<PostgresTestServer, any Error>?

    func server() async throws -> PostgresTestServer {
        if let starting { return try await starting.value }
        let task = Task { try await PostgresTestServer.startFromEnvironment() }
        starting = task
        return try await task.value
    }
}

/// A flag that flips once, from any thread.
final class LockedFlag: Sendable {
    private let value = Mutex(false)

    /// True for the first caller only.
    func setOnce() -> Bool {
        value.withLock { value in
            defer { value = true }
            return !value
        }
    }
}
