/// An index on one of the app's own tables (schema `public`), built after the migration transaction
/// has committed, with `CREATE INDEX CONCURRENTLY`: the app's writes never wait for the build.
///
/// Only plain (non-unique) indexes belong here: a unique build over an app table that already holds
/// duplicate rows would fail, and the app's data is not ours to refuse.
public struct ConcurrentIndex: Sendable, Hashable {
    /// The schema of the table (and so of the index).
    public var schema: String
    /// The index name, unique in its schema.
    public var name: String
    /// What follows `ON`: the qualified table, the columns, and an optional `WHERE` predicate.
    public var definition: String

    public init(schema: String = "public", name: String, definition: String) {
        self.schema = schema
        self.name = name
        self.definition = definition
    }

    /// Idempotent: a valid index of that name is left alone.
    public var createStatement: String {
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS \(name) ON \(definition)"
    }

    /// Removes an invalid leftover of an interrupted build without blocking the app.
    public var dropStatement: String {
        "DROP INDEX CONCURRENTLY IF EXISTS \(schema).\(name)"
    }

    /// An index the runner could not build (the worker starts anyway; the next migrate retries).
    public struct Failure: Sendable, Hashable {
        public var name: String
        public var reason: String

        public init(name: String, reason: String) {
            self.name = name
            self.reason = reason
        }
    }
}
