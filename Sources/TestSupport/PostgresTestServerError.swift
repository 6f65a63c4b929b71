/// Why a throwaway PostgreSQL server could not be started or used.
public struct PostgresTestServerError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) { self.description = description }
}
