import Persistence
import Shared
import Testing
import TestSupport

/// The alert evaluator's cache of decoded open issues returns exactly what a full read returns, as
/// issues open, change and resolve between reads.
@Suite struct OpenIssueCacheTests {
    func read(_ cache: OpenIssueCache, _ driver: DatabaseDriver) async throws -> (cached: [IssueEvent], full: [IssueEvent]) {
        try await driver.database.client.withConnection { connection in
            let cached = try await cache.open(on: connection, logger: driver.env.logger)
            let full = try await IssueRepository.open(on: connection, logger: driver.env.logger)
            return (cached, full)
        }
    }

    @Test func cachedReadsFollowOpenedChangedAndResolvedIssues() async throws {
        try await DatabaseDriver.with { driver in
            let cache = OpenIssueCache()
            let empty = try await read(cache, driver)
            #expect(empty.cached.isEmpty && empty.full.isEmpty)

            let traffic = try await RepairCommandTests.seed(driver)
            let first = try await read(cache, driver)
            #expect(!first.full.isEmpty)
            #expect(first.cached == first.full)
            // Nothing changed: the same set, now from the cache.
            let again = try await read(cache, driver)
            #expect(again.cached == again.full)

            // A repair resolves one issue: it leaves the cached set as it leaves the table.
            let id = RepairCommandTests.issueId(traffic, .creditBalanceMismatch)
            let result = try await driver.command(driver.signed(issueId: id, reason: "Reconciled after review"))
            #expect(result.outcome == .applied)
            let afterRepair = try await read(cache, driver)
            #expect(afterRepair.cached == afterRepair.full)
            #expect(!afterRepair.cached.contains { $0.issueId == id })
            #expect(afterRepair.cached.count == first.full.count - 1)
        }
    }
}
