import CheckPipeline
import Logging
import Persistence
import PostgresNIO
import Shared

/// `assure-worker audit`: the batch oracle over the billing tables, compared with the streaming state.
///
/// The billing tables hold only each user's current account row; earlier tiers are rebuilt from
/// `subscription_audit` (the tier before each repair downgrade). Plan gates are not a table: the
/// oracle sees the gates the stream delivered, and the Stripe events the stream applied. Run it once the stream is consumed and the settle
/// time has passed, or in-flight records show up as differences.
public struct AuditRunner: Sendable {
    /// One disagreement between the oracle and the streaming state.
    public struct Difference: Sendable, Hashable, CustomStringConvertible {
        public enum Kind: String, Sendable, Hashable {
            case onlyInOracle = "missing from streaming state"
            case onlyInStream = "not expected by the oracle"
            case evidence = "evidence differs"
        }

        public var kind: Kind
        public var issueId: String
        public var detail: String

        public var description: String { "\(issueId): \(kind.rawValue)\(detail.isEmpty ? "" : " — \(detail)")" }
    }

    /// The audit's outcome.
    public struct Report: Sendable {
        public var oracleIssues: Int
        public var streamingIssues: Int
        public var ledgerRows: Int
        public var users: Int
        public var differences: [Difference]
        /// Billing rows the audit left out (NULL columns, seq below 1), each with the reason.
        public var unusableRows: [String] = []
        public var isClean: Bool { differences.isEmpty }
    }

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

    public func run() async throws -> Report {
        try await client.withConnection { connection in
            let tables = try await BillingTableSnapshot.load(on: connection, logger: logger)
            var gates: [PlanGate] = []
            for row in try await EntityStateRepository.all(
                kind: StateKey.Kind.planGate.rawValue, on: connection, logger: logger)
            {
                guard let key = StateKey(stringValue: row.key), let gate = try codec.state(from: row)?.planGateState
                else { continue }
                gates.append(PlanGate(feature: key.id, allowedTiers: Set(gate.allowedTiers), updatedAtMs: gate.updatedAtMs))
            }
            let watermark = try await OffsetRepository.watermark(group: settings.groupId, on: connection, logger: logger) ?? Int64.min
            // After a bootstrap, old grants of a user are judged as bootstrap judged them.
            let bootstrapped = try await BootstrapRunRepository.latestCompleted(on: connection, logger: logger) != nil
            var updatedAt: [String: Int64] = [:]
            if bootstrapped { for account in tables.accounts { updatedAt[account.userId] = account.updatedAtMs } }
            // Stripe events are not a billing table: the oracle sees the ones the stream applied.
            let stripe = try await StripeEventRepository.all(on: connection, logger: logger)
            let expected = BatchOracle.evaluate(
                ledger: tables.ledger, accounts: tables.accounts, webhooks: tables.webhooks, gates: gates,
                stripe: stripe, watermarkMs: watermark, settings: settings.checks, bootstrapUpdatedAtMs: updatedAt)
            let streaming = try await IssueRepository.open(on: connection, logger: logger)
            var report = Report(
                oracleIssues: expected.count, streamingIssues: streaming.count, ledgerRows: tables.ledger.count,
                users: tables.userCount, differences: Self.compare(expected: expected, streaming: streaming))
            report.unusableRows = tables.unusableRows
            return report
        }
    }

    static func compare(expected: [OpenIssue], streaming: [IssueEvent]) -> [Difference] {
        let oracle = Dictionary(expected.map { ($0.issueId, $0) }, uniquingKeysWith: { first, _ in first })
        let stream = Dictionary(streaming.map { ($0.issueId, $0) }, uniquingKeysWith: { first, _ in first })
        var differences: [Difference] = []
        for id in Set(oracle.keys).union(stream.keys).sorted() {
            switch (oracle[id], stream[id]) {
            case (let expected?, nil):
                differences.append(.init(kind: .onlyInOracle, issueId: id, detail: expected.title))
            case (nil, let open?):
                differences.append(.init(kind: .onlyInStream, issueId: id, detail: open.title))
            case (let expected?, let open?) where expected.evidence != open.evidence:
                differences.append(
                    .init(kind: .evidence, issueId: id, detail: "oracle \(expected.evidence), stream \(open.evidence)"))
            default:
                break
            }
        }
        return differences
    }
}

/// The billing tables as the oracle takes them.
struct BillingTableSnapshot {
    var ledger: [LedgerRow] = []
    var accounts: [AccountSnapshot] = []
    var webhooks: [WebhookRecord] = []
    var userCount = 0
    /// Billing rows left out because the checks cannot use them, each with the reason.
    var unusableRows: [String] = []

    static func load(on connection: PostgresConnection, logger: Logger) async throws -> BillingTableSnapshot {
        var snapshot = BillingTableSnapshot()
        // Rows the checks cannot use (NULL columns, seq below 1) are left out and reported, never trapped on.
        for row in try await BillingTableRepository.ledger(on: connection, logger: logger) {
            guard let user = row.userId, let seq = row.seq, let typeText = row.type, let amount = row.amount,
                let balance = row.balanceAfter, let created = row.createdAtMs
            else {
                let missing = [
                    ("user_id", row.userId == nil), ("seq", row.seq == nil), ("type", row.type == nil),
                    ("amount", row.amount == nil), ("balance_after", row.balanceAfter == nil),
                    ("created_at", row.createdAtMs == nil),
                ].filter(\.1).map(\.0)
                snapshot.unusableRows.append("credit_transactions row \(row.id): NULL \(missing.joined(separator: ", "))")
                continue
            }
            guard seq >= 1 else {
                snapshot.unusableRows.append("credit_transactions row \(row.id): seq \(seq) is below 1")
                continue
            }
            guard let type = LedgerType(rawValue: typeText) else { continue }
            snapshot.ledger.append(
                LedgerRow(
                    id: row.id, userId: user, seq: seq, type: type, amount: amount, balanceAfter: balance,
                    stripeEventId: row.stripeEventId, stripePaymentIntentId: row.stripePaymentIntentId,
                    stripeInvoiceId: row.stripeInvoiceId, reason: row.reason, createdAtMs: created))
        }
        // Tiers before each repair downgrade, dated at the epoch so the current row takes over from then.
        var downgrades: [String: [(tier: String, atMs: Int64)]] = [:]
        for change in try await BillingTableRepository.tierChanges(on: connection, logger: logger) {
            guard let user = change.userId, let at = change.atMs else { continue }
            downgrades[user, default: []].append((change.fromTier ?? "FREE", at))
        }
        for user in try await BillingTableRepository.users(on: connection, logger: logger) {
            snapshot.userCount += 1
            let current = AccountSnapshot(
                userId: user.id, role: Role(rawValue: user.role ?? "USER") ?? .user,
                tier: Tier(rawValue: user.tier ?? "FREE") ?? .free, credits: user.credits,
                unlimitedCredits: user.unlimitedCredits, stripeCustomerId: user.stripeCustomerId,
                stripeSubscriptionId: user.stripeSubscriptionId, subscriptionStatus: user.subscriptionStatus,
                updatedAtMs: user.updatedAtMs ?? 0, version: user.version)
            var previousAt = Int64.min / 2
            for downgrade in downgrades[user.id] ?? [] {
                var before = current
                before.tier = Tier(rawValue: downgrade.tier) ?? .free
                before.updatedAtMs = previousAt
                before.version = nil
                snapshot.accounts.append(before)
                previousAt = downgrade.atMs
            }
            snapshot.accounts.append(current)
        }
        snapshot.webhooks = try await BillingTableRepository.webhooks(on: connection, logger: logger)
        return snapshot
    }
}
