import CheckPipeline
import Logging
import Persistence
import PostgresNIO
import Shared

/// Reads what the admin API and the CLI show from PostgreSQL: the report, replay readiness, command results.
public struct ReportQuery: Sendable {
    let client: PostgresClient
    let settings: WorkerSettings
    let codec: EntityStateCodec
    let logger: Logger

    public init(client: PostgresClient, settings: WorkerSettings, logger: Logger) {
        self.client = client
        self.settings = settings
        self.codec = EntityStateCodec(settings: settings.checks)
        self.logger = logger
    }

    /// The cluster-wide report; a `periodDays` other than the configured one re-evaluates the
    /// stale-subscription rule for that period from the stored user states.
    public func report(periodDays: Int64? = nil, nowMs: Int64 = WallClock.nowMs()) async throws -> AssuranceReport {
        let period = periodDays ?? settings.checks.periodDays
        return try await client.withConnection { connection in
            var open = try await IssueRepository.open(on: connection, logger: logger)
            let applied = try await OffsetRepository.appliedByTopic(
                group: settings.groupId, on: connection, logger: logger)
            // Kept by the state writers: a few counter rows, never a scan of the states.
            let counts = try await StateCountRepository.totals(on: connection, logger: logger)
            if period != settings.checks.periodDays {
                let openStaleUsers = open.filter { $0.check == .stalePaidSubscription }.compactMap(\.userId)
                open.removeAll { $0.check == .stalePaidSubscription }
                open.append(
                    contentsOf: try await staleIssues(
                        periodDays: period, openStaleUsers: openStaleUsers, nowMs: nowMs, on: connection))
            }
            // Rows applied by bootstrap count as much as consumed ones.
            let bootstrapped = try await BootstrapRunRepository.appliedTotals(on: connection, logger: logger)
            let lastBootstrap = try await BootstrapRunRepository.latestCompleted(on: connection, logger: logger)
            let health = try await InputHealthRepository.load(on: connection, logger: logger)
            let held = try await EntityStateRepository.heldChecks(
                lastDelivered: InputHealth.lastDelivered(health), on: connection, logger: logger)
            return AssuranceReport.build(
                openIssues: open,
                counts: .init(
                    checkedUsers: counts.users, ledgerRows: (applied[settings.topics.ledger] ?? 0) + bootstrapped.ledger,
                    webhookEvents: (applied[settings.topics.webhooks] ?? 0) + bootstrapped.webhooks,
                    unmappedStripeCustomers: counts.unmappedStripeCustomers),
                periodDays: period, nowMs: nowMs, heldChecks: held,
                bootstrap: lastBootstrap.map { .init(lastRunAt: Timestamp.format($0.finishedAtMs), rows: $0.rows) })
        }
    }

    /// Stale-subscription issues as they would stand with another period (not stored, not published).
    ///
    /// Only candidates are read: a user is stale under period P once the watermark passes its anchor
    /// + P, and its stored stale point is anchor + configured period + 1; so the users stale under P
    /// are those whose stale point is at or before watermark − P + configured period, plus those
    /// whose stale issue is open (their stale point is cleared). Each candidate is then decided by
    /// the pipeline's own preview.
    func staleIssues(periodDays: Int64, openStaleUsers: [String], nowMs: Int64, on connection: PostgresConnection)
        async throws -> [IssueEvent]
    {
        guard let watermark = try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger) else { return [] }
        var period = settings.checks
        period.periodDays = periodDays
        let pipeline = IssuePipeline(settings: period)
        let threshold = Int64(clamping: Int128(watermark) - Int128(period.periodMs) + Int128(settings.checks.periodMs))
        let rows = try await EntityStateRepository.staleCandidates(
            staleAtOrBefore: threshold, keys: openStaleUsers.map { StateKey.user($0).stringValue }, on: connection,
            logger: logger)
        var issues: [IssueEvent] = []
        for row in rows {
            guard let state = try codec.state(from: row), let key = StateKey(stringValue: row.key) else { continue }
            for transition in pipeline.staleSubscriptionPreview(key: key, state: state, watermarkMs: watermark) {
                let at = Timestamp.format(nowMs)
                issues.append(
                    IssueEvent(
                        issueId: transition.issueId, version: 0, status: .open, check: transition.check,
                        userId: transition.userId, title: transition.title, evidence: transition.evidence,
                        repair: transition.repair, firstSeenAt: at, lastSeenAt: at, atRisk: transition.atRisk))
            }
        }
        return issues
    }

    /// The runbook's replay checklist: not ready while any open issue touches the given ids.
    public func replayReadiness(eventId: String?, paymentIntentId: String?, invoiceId: String?, userId: String?)
        async throws -> ReplayReadiness
    {
        var ids: [String] = []
        if let eventId {
            ids.append(CheckKind.missingIdempotencyRecord.issueId(eventId))
            ids.append(CheckKind.duplicateCreditEvent.issueId(eventId))
        }
        if let paymentIntentId { ids.append(CheckKind.duplicatePaymentIntent.issueId(paymentIntentId)) }
        if let invoiceId {
            ids.append(CheckKind.duplicateInvoiceGrant.issueId(invoiceId))
            ids.append(CheckKind.paidInvoiceWithoutGrant.issueId(invoiceId))
        }
        if let userId {
            ids.append(CheckKind.tierSubscriptionMismatch.issueId(userId))
            ids.append(CheckKind.stripePaidLocalFree.issueId(userId))
            ids.append(CheckKind.localPaidStripeInactive.issueId(userId))
        }
        let requested = ids
        let (blockers, checked) = try await client.withConnection { connection in
            var found: [ReplayReadiness.Blocker] = []
            var ids = requested
            if let userId {
                // The user's open invoice-without-grant issues (named by invoice, not by user).
                for id in try await IssueRepository.openIssueIds(
                    userId: userId, check: .paidInvoiceWithoutGrant, on: connection, logger: logger)
                where !ids.contains(id) {
                    ids.append(id)
                }
            }
            for id in ids {
                guard let event = try await IssueRepository.find(issueId: id, on: connection, logger: logger),
                    event.status == .open
                else { continue }
                found.append(
                    .init(issueId: event.issueId, check: event.check, severity: event.severity, title: event.title,
                          explanation: event.explanation))
            }
            return (found, ids)
        }
        return ReplayReadiness(ready: blockers.isEmpty, blockers: blockers, checkedIssueIds: checked)
    }

    /// The stored result of a command, once a worker processed it.
    public func commandResult(commandId: String) async throws -> RepairResult? {
        try await client.withConnection { connection in
            try await ProcessedCommandRepository.find(commandId: commandId, on: connection, logger: logger)
        }
    }

    /// The latest event of an issue.
    public func issue(_ issueId: String) async throws -> IssueEvent? {
        try await client.withConnection { connection in
            try await IssueRepository.find(issueId: issueId, on: connection, logger: logger)
        }
    }
}

/// The answer of `GET /api/admin/billing-assurance/replay-readiness`.
public struct ReplayReadiness: Sendable, Hashable, Codable {
    public struct Blocker: Sendable, Hashable, Codable {
        public var issueId: String
        public var check: CheckKind
        public var severity: Severity
        public var title: String
        public var explanation: Explanation?
    }

    public var ready: Bool
    public var blockers: [Blocker]
    public var checkedIssueIds: [String]
}
