import Logging
import Persistence
import PostgresNIO
import TestSupport
import Testing

@Suite("Database start-up")
struct DatabaseConnectTests {
    private let logger = Logger(label: "assure.test.connect")

    @Test func waitUntilReachable_closedPort_failsAfterBoundedAttempts() async throws {
        let port = try PostgresTestServer.freeLoopbackPort()
        let configuration = DatabaseConfiguration(host: "127.0.0.1", port: port, tlsMode: .disable)
        let database = try Database(configuration: configuration, logger: logger)
        let policy = ConnectRetryPolicy(maximumAttempts: 3, initialDelay: .milliseconds(10), maximumDelay: .milliseconds(20))
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: DatabaseError.self) { try await database.waitUntilReachable(retry: policy) }
        #expect(error?.code == .unreachable)
        #expect(error?.reason.contains("after 3 attempts") == true, "\(error?.reason ?? "")")
        #expect(error?.reason.contains("127.0.0.1:\(port)") == true)
        #expect(error?.reason.contains("\n") == false)
        #expect(start.duration(to: clock.now) < .seconds(60))
    }

    @Test func waitUntilReachable_deadline_stopsRetryingEarly() async throws {
        let port = try PostgresTestServer.freeLoopbackPort()
        let configuration = DatabaseConfiguration(host: "127.0.0.1", port: port, tlsMode: .disable)
        let database = try Database(configuration: configuration, logger: logger)
        let policy = ConnectRetryPolicy(
            maximumAttempts: 1000, initialDelay: .milliseconds(50), maximumDelay: .milliseconds(50),
            deadline: .milliseconds(300)
        )
        let clock = ContinuousClock()
        let start = clock.now
        await #expect(throws: DatabaseError.self) { try await database.waitUntilReachable(retry: policy) }
        // Generous: the policy's own limit is what is under test, not the machine's speed.
        #expect(start.duration(to: clock.now) < .seconds(30))
    }

    @Test func waitUntilReachable_unknownDatabase_failsWithoutRetrying() async throws {
        let server = try await PostgresTestServer.shared()
        let configuration = server.configuration.with(database: "does_not_exist_\(UInt32.random(in: 0...UInt32.max))")
        let database = try Database(configuration: configuration, logger: logger)
        let policy = ConnectRetryPolicy(maximumAttempts: 5, initialDelay: .seconds(1))
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: DatabaseError.self) { try await database.waitUntilReachable(retry: policy) }
        #expect(error?.code == .unreachable)
        #expect(error?.reason.contains("does not exist") == true, "\(error?.reason ?? "")")
        #expect(error?.reason.contains("3D000") == true)
        // One attempt only: the reason carries no "after N attempts".
        #expect(error?.reason.contains("attempts") == false)
        _ = start
    }

    @Test func withDatabase_runningServer_answersQueries() async throws {
        let server = try await PostgresTestServer.shared()
        let answer = try await Database.withDatabase(configuration: server.configuration, logger: logger) { database in
            try await database.client.query("SELECT 40 + 2", logger: logger).collect().first?.decode(Int.self)
        }
        #expect(answer == 42)
    }

    @Test func freshDatabases_areSeparate() async throws {
        let server = try await PostgresTestServer.shared()
        let first = try await server.createDatabase()
        let second = try await server.createDatabase()
        #expect(first.database != second.database)
        #expect(first.host == server.configuration.host && first.port == server.configuration.port)
        let names = try await Database.withDatabase(configuration: server.configuration, logger: logger) { database in
            var names: [String] = []
            for try await name in try await database.client.query(
                "SELECT datname FROM pg_database ORDER BY datname", logger: logger
            ).decode(String.self) {
                names.append(name)
            }
            return names
        }
        #expect(names.contains(first.database) && names.contains(second.database))
        try await server.dropDatabase(first.database)
        try await server.dropDatabase(second.database)
    }
}
