import Shared

/// The cluster-wide assurance report served at `GET /api/admin/billing-assurance`.
public struct AssuranceReport: Sendable, Hashable, Codable {
    /// `healthy`, `attention`, `degraded` or `critical`, with the score and counts.
    public struct Summary: Sendable, Hashable, Codable {
        public var status: String
        public var score: Int
        public var alertCount: Int
        public var checkedUsers: Int64
        public var ledgerRows: Int64
        public var webhookEvents: Int64
        public var openIssues: Int
        public var failedPlanGates: Int
        public var revenueImpactingCount: Int
        public var repairableCount: Int
        public var explainedCount: Int
        public var bySeverity: [String: Int]
        public var periodDays: Int64
        /// Stripe customers with events that no user's latest snapshot names.
        public var unmappedStripeCustomers: Int64
        /// Credits at risk over all open issues (operator actions included), by direction.
        public var atRisk: AtRiskTotals
    }

    /// `summary.atRisk`.
    public struct AtRiskTotals: Sendable, Hashable, Codable {
        public var leakageCredits: Int64
        public var customerHarmCredits: Int64
    }

    /// One named release guardrail of the runbook.
    public struct Guardrail: Sendable, Hashable, Codable {
        public var name: String
        public var passed: Bool
        public var reason: String
    }

    /// One open issue as the report lists it.
    public struct Issue: Sendable, Hashable, Codable {
        public var issueId: String
        public var category: IssueCategory
        public var check: CheckKind
        public var severity: Severity
        public var userId: String?
        public var revenueImpacting: Bool
        public var title: String
        public var evidence: JSONValue
        public var repair: RepairSuggestion?
        public var explanation: Explanation?
        public var firstSeenAt: String
        public var lastSeenAt: String
        public var atRisk: AtRisk
        public var acknowledgement: Acknowledgement?
        public var snoozedUntil: String?

        enum CodingKeys: String, CodingKey {
            case issueId, category, check, severity, userId, revenueImpacting, title, evidence, repair, explanation,
                firstSeenAt, lastSeenAt, atRisk, acknowledgement, snoozedUntil
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(issueId, forKey: .issueId)
            try c.encode(category, forKey: .category)
            try c.encode(check, forKey: .check)
            try c.encode(severity, forKey: .severity)
            try c.encode(userId, forKey: .userId)
            try c.encode(revenueImpacting, forKey: .revenueImpacting)
            try c.encode(title, forKey: .title)
            try c.encode(evidence, forKey: .evidence)
            try c.encode(repair, forKey: .repair)
            try c.encode(explanation, forKey: .explanation)
            try c.encode(firstSeenAt, forKey: .firstSeenAt)
            try c.encode(lastSeenAt, forKey: .lastSeenAt)
            try c.encode(atRisk, forKey: .atRisk)
            try c.encode(acknowledgement, forKey: .acknowledgement)
            try c.encode(snoozedUntil, forKey: .snoozedUntil)
        }
    }

    /// Totals the report counts besides the issues.
    public struct Counts: Sendable, Hashable {
        public var checkedUsers: Int64
        public var ledgerRows: Int64
        public var webhookEvents: Int64
        public var unmappedStripeCustomers: Int64
        public init(checkedUsers: Int64, ledgerRows: Int64, webhookEvents: Int64, unmappedStripeCustomers: Int64 = 0) {
            self.checkedUsers = checkedUsers
            self.ledgerRows = ledgerRows
            self.webhookEvents = webhookEvents
            self.unmappedStripeCustomers = unmappedStripeCustomers
        }
    }

    public var generatedAt: String
    public var summary: Summary
    public var guardrails: [Guardrail]
    public var issues: [Issue]

    /// Whether an open issue counts towards `alertCount`: revenue-impacting, error or critical, and
    /// neither explained, acknowledged nor snoozed.
    public static func isAlertWorthy(_ event: IssueEvent) -> Bool {
        event.status == .open && !event.hasOperatorAction && event.revenueImpacting && event.severity >= .error
    }

    /// The report's order: severity (highest first), then `atRisk.credits` (largest first, null
    /// last), then issue id.
    public static func reportOrder(_ a: IssueEvent, _ b: IssueEvent) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        switch (a.atRisk.credits, b.atRisk.credits) {
        case (let x?, let y?) where x != y: return x > y
        case (.some, nil): return true
        case (nil, .some): return false
        default: return a.issueId < b.issueId
        }
    }

    /// A saturating sum of `credits`, a null counting as 0.
    public static func sumCredits(_ risks: some Sequence<AtRisk>) -> Int64 {
        var total: Int64 = 0
        for credits in risks.compactMap(\.credits) {
            let (sum, overflow) = total.addingReportingOverflow(credits)
            total = overflow ? (credits > 0 ? .max : .min) : sum
        }
        return total
    }

    /// Builds the report from the open issues (documented in the README: score and status formulas).
    public static func build(openIssues: [IssueEvent], counts: Counts, periodDays: Int64, nowMs: Int64)
        -> AssuranceReport
    {
        let open = openIssues.filter { $0.status == .open }.sorted(by: reportOrder)
        let unexplained = open.filter { $0.explanation == nil }
        var bySeverity: [String: Int] = [:]
        for severity in Severity.allCases { bySeverity[severity.rawValue] = 0 }
        for issue in open { bySeverity[issue.severity.rawValue, default: 0] += 1 }
        let status: String
        if unexplained.contains(where: { $0.severity == .critical }) {
            status = "critical"
        } else if unexplained.contains(where: { $0.severity == .error }) {
            status = "degraded"
        } else if !open.isEmpty {
            status = "attention"
        } else {
            status = "healthy"
        }
        // Each unexplained issue costs points by severity; explained issues cost one point.
        var penalty = 0
        for issue in open {
            if issue.explanation != nil {
                penalty += 1
                continue
            }
            switch issue.severity {
            case .critical: penalty += 25
            case .error: penalty += 10
            case .warning: penalty += 3
            case .info: penalty += 1
            }
        }
        let summary = Summary(
            status: status,
            score: max(0, 100 - penalty),
            alertCount: open.filter(isAlertWorthy).count,
            checkedUsers: counts.checkedUsers,
            ledgerRows: counts.ledgerRows,
            webhookEvents: counts.webhookEvents,
            openIssues: open.count,
            failedPlanGates: open.filter { $0.check == .planGateRegression }.count,
            revenueImpactingCount: open.filter(\.revenueImpacting).count,
            repairableCount: open.filter { $0.repair != nil }.count,
            explainedCount: open.filter { $0.explanation != nil }.count,
            bySeverity: bySeverity,
            periodDays: periodDays,
            unmappedStripeCustomers: counts.unmappedStripeCustomers,
            atRisk: AtRiskTotals(
                leakageCredits: sumCredits(open.filter { $0.atRisk.direction == .leakage }.map(\.atRisk)),
                customerHarmCredits: sumCredits(open.filter { $0.atRisk.direction == .customerHarm }.map(\.atRisk))))
        return AssuranceReport(
            generatedAt: Timestamp.format(nowMs),
            summary: summary,
            guardrails: guardrails(unexplained: unexplained),
            issues: open.map {
                Issue(
                    issueId: $0.issueId, category: $0.category, check: $0.check, severity: $0.severity,
                    userId: $0.userId, revenueImpacting: $0.revenueImpacting, title: $0.title, evidence: $0.evidence,
                    repair: $0.repair, explanation: $0.explanation, firstSeenAt: $0.firstSeenAt,
                    lastSeenAt: $0.lastSeenAt, atRisk: $0.atRisk, acknowledgement: $0.acknowledgement,
                    snoozedUntil: $0.snoozedUntil)
            })
    }

    /// The seeds' release guardrails; explained issues do not fail them.
    static func guardrails(unexplained: [IssueEvent]) -> [Guardrail] {
        func rule(_ name: String, _ failing: [IssueEvent], pass: String, fail: String) -> Guardrail {
            let ids = failing.prefix(5).map(\.issueId).joined(separator: ", ")
            return Guardrail(
                name: name, passed: failing.isEmpty,
                reason: failing.isEmpty ? pass : "\(failing.count) open: \(ids)\(failing.count > 5 ? ", …" : ""). \(fail)")
        }
        return [
            rule(
                "replaySafe", unexplained.filter { $0.category == .webhookReplaySafety },
                pass: "Event, invoice and payment-intent idempotency are clean: Stripe replays are safe.",
                fail: "Do not replay Stripe events until these are repaired or explained."),
            rule(
                "planGatesPass", unexplained.filter { $0.check == .planGateRegression },
                pass: "Every plan gate matches the plan policy.",
                fail: "Plan-gating regressions are release blockers."),
            rule(
                "noUnexplainedCritical", unexplained.filter { $0.severity == .critical },
                pass: "No critical issue is open without an incident note.",
                fail: "Stop billing-related deploys until each is repaired or explained."),
            rule(
                "creditsReconciled", unexplained.filter { $0.category == .creditReconciliation },
                pass: "Balances agree with the ledger and the ledger is gap-free.",
                fail: "Repair balances through the admin API; never edit them directly."),
            rule(
                "entitlementsMatchStripe",
                unexplained.filter {
                    [.tierSubscriptionMismatch, .paidTierWithoutCustomer, .stripePaidLocalFree, .localPaidStripeInactive,
                     .paidInvoiceWithoutGrant].contains($0.check)
                },
                pass: "Local tiers agree with Stripe, the source of truth for paid subscriptions.",
                fail: "Stripe Billing is the source of truth: repair or explain the local entitlements."),
        ]
    }
}
