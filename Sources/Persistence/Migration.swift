/// One versioned schema change: statements run in order inside the migration transaction.
public struct Migration: Sendable, Hashable {
    /// Strictly increasing, starting at 1; recorded in `assurance.schema_migrations`.
    public var version: Int
    public var name: String
    /// One SQL statement each (the extended protocol runs one statement per query).
    public var statements: [String]

    public init(version: Int, name: String, statements: [String]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// The outcome of `Database.migrate()`.
public struct MigrationReport: Sendable, Hashable {
    /// Migrations this run applied, in order.
    public var applied: [Migration]
    /// Versions that were already recorded before this run.
    public var alreadyApplied: [Int]
    /// Recorded versions this binary does not know (a newer binary migrated this database).
    public var unknownVersions: [Int]
    /// Indexes on the app's tables this run built concurrently, after the transaction.
    public var indexesBuilt: [String]
    /// Indexes on the app's tables that could not be built (the next run retries them).
    public var indexFailures: [ConcurrentIndex.Failure]

    public init(
        applied: [Migration], alreadyApplied: [Int], unknownVersions: [Int], indexesBuilt: [String] = [],
        indexFailures: [ConcurrentIndex.Failure] = []
    ) {
        self.applied = applied
        self.alreadyApplied = alreadyApplied
        self.unknownVersions = unknownVersions
        self.indexesBuilt = indexesBuilt
        self.indexFailures = indexFailures
    }
}
