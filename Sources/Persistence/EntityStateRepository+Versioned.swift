import Logging
import NIOCore
import PostgresNIO

/// Optimistic access to entity states: read without locks, write back only what is still at the
/// version read.
///
/// A worker that keeps states in memory cannot lock them for the time it holds them. Instead every
/// write names the version it started from, and the transaction fails with `VersionConflict` when
/// another one got there first; the caller then rolls back and redoes its work with `lockAndLoad`.
extension EntityStateRepository {
    /// Another transaction created or changed a state row since this one read it. The transaction
    /// that throws it has written part of its states at most and must roll back.
    public struct VersionConflict: Error, CustomStringConvertible {
        public var reason: String
        public var description: String { "entity state changed concurrently: \(reason)" }
    }

    /// Whether `error` (possibly wrapped by `withTransaction`) is a `VersionConflict`.
    public static func isVersionConflict(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError, let cause = error.closureError {
            return isVersionConflict(cause)
        }
        return error is VersionConflict
    }

    /// Whether a transaction failed only because of a concurrent one (a `VersionConflict`, a
    /// deadlock or a serialization failure), so that doing it again can succeed.
    public static func isConcurrencyConflict(_ error: any Error) -> Bool {
        if isVersionConflict(error) { return true }
        let state = DatabaseError.sqlState(of: error)
        return state == "40P01" || state == "40001"
    }

    /// What one optimistic transaction read and changed.
    public struct VersionedWrite: Sendable {
        /// Rows for keys that had no row when read.
        public var inserts: [Row] = []
        /// Changed rows, each with the version it was read at.
        public var updates: [Row] = []
        /// Rows read and left alone, with the version read: they must still be at it.
        public var unchanged: [(key: String, version: Int64)] = []
        /// Keys read without a row and left alone: an empty row (version 0) is created to hold
        /// them, as `lockAndLoad` would, so that nobody creates them before this transaction ends.
        public var unchangedAbsent: [(key: String, kind: String)] = []

        public init() {}

        public var isEmpty: Bool { inserts.isEmpty && updates.isEmpty && unchanged.isEmpty && unchangedAbsent.isEmpty }
    }

    /// Makes the planner look keys up by index for the rest of the transaction.
    ///
    /// Right after a bulk load, before autovacuum has analyzed the table, its statistics still say
    /// "a few rows", and an `= ANY(keys)` lookup of thousands of keys becomes a scan of the whole
    /// table on every batch. Where no index fits, the planner still scans.
    public static func preferIndexLookups(on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SET LOCAL enable_seqscan = off", logger: logger)
    }

    /// Reads the rows of `keys` without locking them; a key without a row is missing from the result.
    public static func load(keys: [String], on connection: PostgresConnection, logger: Logger) async throws
        -> [String: Row]
    {
        guard !keys.isEmpty else { return [:] }
        let rows = try await connection.query(
            """
            SELECT * FROM assurance.load_entity_states(\(keys)::text[])
            """, logger: logger)
        var result: [String: Row] = [:]
        result.reserveCapacity(keys.count)
        try await collect(rows, into: &result)
        return result
    }

    /// Applies `write` if every row it read is still at the version read; throws `VersionConflict` if not.
    ///
    /// Each statement takes its rows in key order. Updates and share locks block on a concurrent
    /// writer and then see its result; an insert blocks on a concurrent insert of the same key and
    /// then fails, which is reported as a conflict, as is a deadlock.
    public static func writeIfUnchanged(_ write: VersionedWrite, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        try await reportingConflicts {
            if !write.unchanged.isEmpty { try await checkUnchanged(write.unchanged, on: connection, logger: logger) }
            if !write.unchangedAbsent.isEmpty {
                try await createStillAbsent(write.unchangedAbsent, on: connection, logger: logger)
            }
            if !write.updates.isEmpty { try await updateAtVersion(write.updates, on: connection, logger: logger) }
            if !write.inserts.isEmpty { try await insertNew(write.inserts, on: connection, logger: logger) }
        }
    }

    private static func checkUnchanged(
        _ rows: [(key: String, version: Int64)], on connection: PostgresConnection, logger: Logger
    ) async throws {
        let sorted = inKeyOrder(rows)
        let keys = sorted.map(\.key)
        let versions = sorted.map(\.version)
        let stale = try await connection.query(
            """
            SELECT count(*) FROM (
              SELECT e.key FROM assurance.entity_state e
              JOIN unnest(\(keys)::text[], \(versions)::bigint[]) AS u(k, v) ON e.key = u.k
              WHERE e.key = ANY(\(keys)::text[]) AND e.version = u.v
              ORDER BY e.key FOR SHARE OF e
            ) AS current
            """, logger: logger)
        let current = try await stale.collect().first?.decode(Int64.self) ?? 0
        guard current == Int64(sorted.count) else {
            throw VersionConflict(reason: "\(Int64(sorted.count) - current) of \(sorted.count) rows read were changed")
        }
    }

    private static func createStillAbsent(
        _ keys: [(key: String, kind: String)], on connection: PostgresConnection, logger: Logger
    ) async throws {
        let sorted = inKeyOrder(keys)
        let names = sorted.map(\.key)
        let kinds = sorted.map(\.kind)
        let created = try await connection.query(
            """
            WITH created AS (
              INSERT INTO assurance.entity_state (key, kind, state, updated_at)
              SELECT k, c, ''::bytea, now() FROM unnest(\(names)::text[], \(kinds)::text[]) AS u(k, c)
              ON CONFLICT (key) DO NOTHING
              RETURNING 1
            ) SELECT count(*) FROM created
            """, logger: logger)
        let count = try await created.collect().first?.decode(Int64.self) ?? 0
        guard count == Int64(sorted.count) else {
            throw VersionConflict(reason: "\(Int64(sorted.count) - count) keys read as absent were created")
        }
    }

    private static func updateAtVersion(_ rows: [Row], on connection: PostgresConnection, logger: Logger) async throws {
        let columns = Columns(inKeyOrder(rows))
        let versions = columns.rows.map(\.version)
        let updated = try await connection.query(
            """
            SELECT assurance.update_entity_states(
              \(columns.keys)::text[], \(columns.kinds)::text[], \(columns.states)::bytea[],
              \(columns.settle)::bigint[], \(columns.stale)::bigint[], \(versions)::bigint[])
            """, logger: logger)
        let count = try await updated.collect().first?.decode(Int64.self) ?? 0
        guard count == Int64(rows.count) else {
            throw VersionConflict(reason: "\(Int64(rows.count) - count) of \(rows.count) changed rows were changed since read")
        }
    }

    /// New rows by `COPY` (a plain insert: a key someone else created meanwhile fails the copy with a
    /// unique violation, which `reportingConflicts` turns into a conflict).
    private static func insertNew(_ rows: [Row], on connection: PostgresConnection, logger: Logger) async throws {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(rows.count * 256)
        for row in inKeyOrder(rows) { CopyText.append(row, to: &buffer) }
        // PostgresNIO's copyFrom writes its request without a promise: on a connection that is already
        // closed (a server restart between two statements) its continuation is never resumed and the
        // batch would hang for good. Fail like any other query on a closed connection instead.
        guard !connection.isClosed else {
            throw DatabaseError(.unreachable, "the connection closed before COPY into assurance.entity_state")
        }
        // PostgresNIO quotes the table name as one identifier; the inner quotes split schema and table.
        try await connection.copyFrom(
            table: "assurance\".\"entity_state",
            columns: ["key", "kind", "state", "settle_deadline_ms", "stale_at_event_ms", "version"], logger: logger
        ) { writer in
            try await writer.write(buffer)
        }
    }

    /// `items` sorted by key (the lock order); callers that pass them sorted pay one pass to check.
    private static func inKeyOrder<Item>(_ items: [Item], key: (Item) -> String) -> [Item] {
        var sorted = true
        for index in items.indices.dropFirst() where key(items[index - 1]) > key(items[index]) {
            sorted = false
            break
        }
        return sorted ? items : items.sorted { key($0) < key($1) }
    }

    private static func inKeyOrder(_ rows: [Row]) -> [Row] { inKeyOrder(rows) { $0.key } }
    private static func inKeyOrder(_ rows: [(key: String, version: Int64)]) -> [(key: String, version: Int64)] {
        inKeyOrder(rows) { $0.key }
    }
    private static func inKeyOrder(_ rows: [(key: String, kind: String)]) -> [(key: String, kind: String)] {
        inKeyOrder(rows) { $0.key }
    }

    /// Turns the server's "someone else got there first" errors into `VersionConflict`.
    private static func reportingConflicts(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as PSQLError {
            switch error.serverInfo?[.sqlState] {
            case "23505": throw VersionConflict(reason: "a new key was created concurrently")
            case "40P01": throw VersionConflict(reason: "deadlock with a concurrent writer")
            default: throw error
            }
        }
    }

    /// Rows as the parallel arrays the statements unnest; absent deadlines as sentinels (-1 and
    /// `Int64.min`), since PostgresNIO binds no arrays of optionals.
    struct Columns {
        let rows: [Row]
        let keys: [String]
        let kinds: [String]
        let states: [ByteBuffer]
        let settle: [Int64]
        let stale: [Int64]

        init(_ rows: [Row]) {
            self.rows = rows
            keys = rows.map(\.key)
            kinds = rows.map(\.kind)
            states = rows.map { ByteBuffer(bytes: $0.state) }
            settle = rows.map { $0.settleDeadlineMs ?? -1 }
            stale = rows.map { $0.staleAtEventMs ?? Int64.min }
        }
    }
}
