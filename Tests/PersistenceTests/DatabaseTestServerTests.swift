import Foundation
import Logging
import Persistence
import TestSupport
import Testing

@Suite("PostgresTestServer")
struct DatabaseTestServerTests {
    private let logger = Logger(label: "assure.test.server")

    @Test func startedServer_answers_thenStopRemovesItsFolderAndStopsIt() async throws {
        let server = try await PostgresTestServer.start()
        let dataDirectory = try #require(server.dataDirectory)
        #expect(FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid"))
        #expect(server.url.hasPrefix("postgres://postgres@127.0.0.1:"))

        let version = try await Database.withDatabase(configuration: server.configuration, logger: logger) { database in
            try await database.client.query("SHOW server_version_num", logger: logger).collect().first?.decode(String.self)
        }
        #expect((Int(version ?? "") ?? 0) >= 150_000)

        await server.stop()
        #expect(!FileManager.default.fileExists(atPath: dataDirectory))
        let database = try Database(configuration: server.configuration, logger: logger)
        await #expect(throws: DatabaseError.self) { try await database.waitUntilReachable(retry: .once) }
        await server.stop()  // idempotent
    }

    @Test func externalServer_createsAndDropsDatabases_andStopLeavesItRunning() async throws {
        let shared = try await PostgresTestServer.shared()
        let external = try PostgresTestServer.external(url: shared.url)
        #expect(external.dataDirectory == nil)
        let result = try await external.withFreshDatabase { database in
            try await database.appliedMigrationVersions()
        }
        #expect(result == Migrations.all.map(\.version))
        await external.stop()
        try await Database.withDatabase(configuration: shared.configuration, logger: logger, retry: .once) { _ in }
    }

    @Test func withFreshDatabase_dropsTheDatabaseAfterwards_evenWhenBodyThrows() async throws {
        struct Expected: Error {}
        let server = try await PostgresTestServer.shared()
        var name = ""
        do {
            try await server.withFreshDatabase { database in
                name = database.configuration.database
                throw Expected()
            }
            Issue.record("the body's error was swallowed")
        } catch is Expected {}
        let stillThere = try await Database.withDatabase(configuration: server.configuration, logger: logger) {
            [name] database in
            try await database.client.query("SELECT count(*) FROM pg_database WHERE datname = \(name)", logger: logger)
                .collect().first?.decode(Int.self)
        }
        #expect(!name.isEmpty)
        #expect(stillThere == 0)
    }
}
