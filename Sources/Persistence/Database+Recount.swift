import CheckPipeline
import Logging
import PostgresNIO

extension Database {
    /// Recounts the report's counts over the entity states from a scan, in a transaction of its own
    /// (`StateCountRepository.recount`); returns the counts before and after.
    /// - Throws: `DatabaseError` with code `.queryFailed`.
    public func recountStates() async throws(DatabaseError) -> (before: StateCounts, after: StateCounts) {
        let logger = self.logger
        do {
            return try await client.withTransaction(logger: logger) { connection in
                try await StateCountRepository.recount(on: connection, logger: logger)
            }
        } catch {
            throw DatabaseError(.queryFailed, "recounting the entity states failed: \(DatabaseError.describe(error))")
        }
    }
}
