import Foundation
import Persistence
import PostgresNIO
import Shared

/// Reads the worker's tables to wait for observable conditions in end-to-end tests.
enum WorkerProbe {
    struct Timeout: Error, CustomStringConvertible {
        var description: String
    }

    /// Waits until the group's stored offsets cover `count` input messages.
    static func waitForConsumption(_ env: WorkerTestEnvironment, count: Int, timeout: Duration = .seconds(120)) async throws {
        try await poll(env, timeout: timeout, "consumption of \(count) messages") { connection in
            let rows = try await connection.query(
                """
                SELECT coalesce(sum(next_offset), 0)::bigint FROM assurance.consumer_offsets
                WHERE group_id = \(env.groupId) AND topic = ANY(\(env.topics.inputs)::text[])
                """, logger: env.logger)
            for try await value in rows.decode(Int64.self) { return value >= count }
            return false
        }
    }

    /// How many input messages the group's stored offsets cover.
    static func consumed(_ env: WorkerTestEnvironment) async throws -> Int {
        try await env.withDatabase { database in
            let rows = try await database.client.query(
                """
                SELECT coalesce(sum(next_offset), 0)::bigint FROM assurance.consumer_offsets
                WHERE group_id = \(env.groupId) AND topic = ANY(\(env.topics.inputs)::text[])
                """)
            for try await value in rows.decode(Int64.self) { return Int(value) }
            return 0
        }
    }

    /// Waits until every outbox row is published.
    static func waitForEmptyOutbox(_ env: WorkerTestEnvironment, timeout: Duration = .seconds(60)) async throws {
        try await poll(env, timeout: timeout, "an empty outbox") { connection in
            try await OutboxRepository.backlog(on: connection, logger: env.logger) == 0
        }
    }

    static func appliedByTopic(_ env: WorkerTestEnvironment) async throws -> [String: Int64] {
        try await env.withDatabase { database in
            try await database.client.withConnection { connection in
                try await OffsetRepository.appliedByTopic(group: env.groupId, on: connection, logger: env.logger)
            }
        }
    }

    /// A digest of every stored entity state, to compare states before and after.
    static func entityStateDigest(_ env: WorkerTestEnvironment) async throws -> String {
        try await env.withDatabase { database in
            let rows = try await database.client.query(
                "SELECT coalesce(md5(string_agg(key || ':' || encode(state, 'hex'), ',' ORDER BY key)), '') FROM assurance.entity_state")
            for try await value in rows.decode(String.self) { return value }
            return ""
        }
    }

    static func poll(
        _ env: WorkerTestEnvironment, timeout: Duration, _ what: String,
        _ condition: (PostgresConnection) async throws -> Bool
    ) async throws {
        try await env.withDatabase { database in
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                // A table the worker has not migrated yet reads as "not yet".
                if (try? await database.client.withConnection(condition)) == true { return }
                try await Task.sleep(for: .milliseconds(100))
            }
            throw Timeout(description: "timed out after \(timeout) waiting for \(what)")
        }
    }
}
