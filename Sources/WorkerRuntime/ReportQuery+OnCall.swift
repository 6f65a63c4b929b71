import Logging
import Persistence
import PostgresNIO
import Shared

extension ReportQuery {
    /// The release gate over the open issues in PostgreSQL.
    public func releaseGate() async throws -> ReleaseGate {
        try await client.withConnection { connection in
            ReleaseGate.evaluate(openIssues: try await IssueRepository.open(on: connection, logger: logger))
        }
    }

    /// An issue's latest event and its whole history, or nil for an unknown id.
    public func issueHistory(_ issueId: String) async throws -> IssueHistory? {
        try await client.withConnection { connection in
            guard let latest = try await IssueRepository.find(issueId: issueId, on: connection, logger: logger) else {
                return nil
            }
            var history = try await IssueRepository.history(issueId: issueId, on: connection, logger: logger)
            if history.last?.version != latest.version { history.append(latest) }
            return IssueHistory(latest: latest, history: history)
        }
    }

    /// The newest `limit` timeline entries of a user, oldest first (empty for an unknown user).
    public func timeline(userId: String, limit: Int) async throws -> UserTimeline {
        let entries = try await client.withConnection { connection in
            try await TimelineRepository.entries(userId: userId, limit: limit, on: connection, logger: logger)
        }
        return UserTimeline(userId: userId, entries: entries)
    }
}
