import Logging
import Persistence
import PostgresNIO
import TestSupport
import Testing

/// `EntityStateRepository.writeIfUnchanged`: a write names the versions it read and fails as a
/// whole when another transaction got there first.
@Suite("Entity state versions")
struct EntityStateVersionTests {
    private let logger = Logger(label: "assure.test.versions")

    private func row(_ key: String, _ state: String, version: Int64 = 0) -> EntityStateRepository.Row {
        EntityStateRepository.Row(
            key: key, kind: "user", state: Array(state.utf8), settleDeadlineMs: nil, staleAtEventMs: nil,
            version: version)
    }

    private func write(_ write: EntityStateRepository.VersionedWrite, in database: Database) async throws {
        try await database.client.withTransaction(logger: logger) { connection in
            try await EntityStateRepository.writeIfUnchanged(write, on: connection, logger: logger)
        }
    }

    private func stored(_ key: String, in database: Database) async throws -> EntityStateRepository.Row? {
        try await database.client.withConnection { connection in
            try await EntityStateRepository.load(keys: [key], on: connection, logger: logger)[key]
        }
    }

    private func expectConflict(
        _ change: EntityStateRepository.VersionedWrite, in database: Database, sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        do {
            try await write(change, in: database)
            Issue.record("the write went through", sourceLocation: sourceLocation)
        } catch {
            #expect(EntityStateRepository.isVersionConflict(error), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func writesAtTheVersionsReadBumpThem() async throws {
        try await PostgresTestServer.shared().withFreshDatabase { database in
            var first = EntityStateRepository.VersionedWrite()
            first.inserts = [row("user:a", "a1")]
            first.unchangedAbsent = [("user:b", "user")]
            try await write(first, in: database)
            #expect(try await stored("user:a", in: database)?.version == 1)
            #expect(try await stored("user:b", in: database).map { ($0.version, $0.state) } ?? (-1, [1]) == (0, []))

            var second = EntityStateRepository.VersionedWrite()
            second.updates = [row("user:a", "a2", version: 1), row("user:b", "b1", version: 0)]
            try await write(second, in: database)
            let a = try await stored("user:a", in: database)
            #expect(a?.version == 2 && a?.state == Array("a2".utf8))
            #expect(try await stored("user:b", in: database)?.version == 1)

            var third = EntityStateRepository.VersionedWrite()
            third.unchanged = [("user:a", 2), ("user:b", 1)]
            try await write(third, in: database)
            #expect(try await stored("user:a", in: database)?.version == 2)
        }
    }

    @Test func aWriteOverAStaleReadFailsAndLeavesNothing() async throws {
        try await PostgresTestServer.shared().withFreshDatabase { database in
            var setup = EntityStateRepository.VersionedWrite()
            setup.inserts = [row("user:a", "a1"), row("user:b", "b1")]
            try await write(setup, in: database)

            // An update of a row read at an older version; the other row's update goes back too.
            var stale = EntityStateRepository.VersionedWrite()
            stale.updates = [row("user:a", "a-late", version: 0), row("user:b", "b2", version: 1)]
            await expectConflict(stale, in: database)
            #expect(try await stored("user:a", in: database)?.state == Array("a1".utf8))
            #expect(try await stored("user:b", in: database)?.state == Array("b1".utf8))

            // A new row for a key someone created meanwhile.
            var duplicate = EntityStateRepository.VersionedWrite()
            duplicate.inserts = [row("user:c", "c1"), row("user:a", "a-again")]
            await expectConflict(duplicate, in: database)
            #expect(try await stored("user:c", in: database) == nil)

            // A row read and left alone that changed since.
            var unchanged = EntityStateRepository.VersionedWrite()
            unchanged.unchanged = [("user:a", 0)]
            await expectConflict(unchanged, in: database)

            // A key read as absent that exists now.
            var absent = EntityStateRepository.VersionedWrite()
            absent.unchangedAbsent = [("user:b", "user")]
            await expectConflict(absent, in: database)
        }
    }

    @Test func newRowsKeepKeysWithCopysSpecialCharactersAndEveryByteOfTheirState() async throws {
        try await PostgresTestServer.shared().withFreshDatabase { database in
            let key = "user:tab\there\\back slash\nnew line\r\u{00e9}"
            var written = row(key, "")
            written.state = (0...255).map { UInt8($0) }
            written.settleDeadlineMs = 42
            var insert = EntityStateRepository.VersionedWrite()
            insert.inserts = [written, row("user:plain", "p")]
            try await write(insert, in: database)
            let stored = try await stored(key, in: database)
            #expect(stored?.key == key)
            #expect(stored?.state == written.state)
            #expect(stored?.settleDeadlineMs == 42 && stored?.staleAtEventMs == nil)
            #expect(stored?.version == 1)
            #expect(try await self.stored("user:plain", in: database)?.state == Array("p".utf8))
        }
    }
}
