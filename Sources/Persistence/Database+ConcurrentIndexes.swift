import Logging
import PostgresNIO

extension Database {
    /// Builds the indexes on the app's tables that do not exist yet, each with
    /// `CREATE INDEX CONCURRENTLY IF NOT EXISTS`, outside any transaction, so the app's writes go on.
    ///
    /// Runs on a connection of its own, under the session-level advisory lock
    /// `Migrations.indexLockKey`, so concurrent migrators build one at a time; closing the connection
    /// releases the lock even if this task dies. An invalid index left by an interrupted build is
    /// dropped (concurrently) and built again. A failure is logged and returned, never thrown: a
    /// missing index slows some lookups but must not stop a worker from starting, and the next
    /// migrate tries again.
    public func buildConcurrentIndexes(
        _ indexes: [ConcurrentIndex] = Migrations.concurrentIndexes
    ) async -> (built: [String], failures: [ConcurrentIndex.Failure]) {
        guard !indexes.isEmpty else { return ([], []) }
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: try configuration.connectionConfiguration(), id: 0, logger: logger
            )
        } catch {
            return ([], indexes.map { failed($0, "cannot connect: \(DatabaseError.describe(error))") })
        }
        var built: [String] = []
        var failures: [ConcurrentIndex.Failure] = []
        do {
            try await lockIndexBuilds(on: connection)
            for index in indexes {
                do {
                    if try await build(index, on: connection) { built.append(index.name) }
                } catch {
                    failures.append(failed(index, DatabaseError.describe(error)))
                    // A failed concurrent build leaves an invalid index that the app's writes keep updating.
                    if (try? await validity(of: index, on: connection)) == false {
                        _ = try? await connection.query(PostgresQuery(unsafeSQL: index.dropStatement), logger: logger)
                    }
                }
            }
        } catch {
            let reason = DatabaseError.describe(error)
            let tried = Set(built + failures.map(\.name))
            failures += indexes.filter { !tried.contains($0.name) }.map { failed($0, reason) }
        }
        try? await connection.close()
        return (built, failures)
    }

    private func failed(_ index: ConcurrentIndex, _ reason: String) -> ConcurrentIndex.Failure {
        logger.warning(
            "index on an app table not built; the next migrate retries",
            metadata: ["assure.db.index": "\(index.schema).\(index.name)", "assure.db.error": "\(reason)"]
        )
        return ConcurrentIndex.Failure(name: index.name, reason: reason)
    }

    /// Takes the session-level lock by polling `pg_try_advisory_lock`. Waiting in `pg_advisory_lock`
    /// would hold a snapshot, and the holder's `CREATE INDEX CONCURRENTLY` waits for every older
    /// snapshot: each would wait for the other.
    private func lockIndexBuilds(on connection: PostgresConnection) async throws {
        var announced = false
        while true {
            let locked = try await connection.query(
                "SELECT pg_try_advisory_lock(\(Migrations.indexLockKey))", logger: logger
            ).collect().first?.decode(Bool.self) ?? false
            if locked { return }
            if !announced {
                logger.info("waiting for another migrator's index builds")
                announced = true
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Whether `index` was built now (false: a valid one was there already).
    private func build(_ index: ConcurrentIndex, on connection: PostgresConnection) async throws -> Bool {
        switch try await validity(of: index, on: connection) {
        case true?:
            return false
        case false?:
            logger.notice(
                "dropping the invalid leftover of an interrupted index build",
                metadata: ["assure.db.index": "\(index.schema).\(index.name)"]
            )
            try await connection.query(PostgresQuery(unsafeSQL: index.dropStatement), logger: logger)
        case nil:
            break
        }
        logger.info("building index concurrently", metadata: ["assure.db.index": "\(index.schema).\(index.name)"])
        try await connection.query(PostgresQuery(unsafeSQL: index.createStatement), logger: logger)
        return true
    }

    /// `pg_index.indisvalid` of the index, or nil when there is no index of that name.
    private func validity(of index: ConcurrentIndex, on connection: PostgresConnection) async throws -> Bool? {
        try await connection.query(
            """
            SELECT i.indisvalid FROM pg_index i
            JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname::text = \(index.schema) AND c.relname::text = \(index.name)
            """,
            logger: logger
        ).collect().first?.decode(Bool.self)
    }
}
