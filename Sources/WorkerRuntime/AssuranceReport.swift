import Shared

/// The cluster-wide assurance report served at `GET /api/admin/billing-assurance`.
public struct AssuranceReport: Sendable, Hashable, Codable, JSONFields {
    /// `healthy`, `attention`, `degraded` or `critical`, with the score and counts.
    public struct Summary: Sendable, Hashable, Codable, JSONFields {
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
        /// The checks holding at least one deadline on a silent input now, sorted.
        public var heldChecks: [String] = []
        /// The latest completed bootstrap (`null` before any).
        public var bootstrap: LastBootstrap = LastBootstrap()

        public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
            try v.string("status", status)
            try v.int("score", Int64(score))
            try v.int("alertCount", Int64(alertCount))
            try v.int("checkedUsers", checkedUsers)
            try v.int("ledgerRows", ledgerRows)
            try v.int("webhookEvents", webhookEvents)
            try v.int("openIssues", Int64(openIssues))
            try v.int("failedPlanGates", Int64(failedPlanGates))
            try v.int("revenueImpactingCount", Int64(revenueImpactingCount))
            try v.int("repairableCount", Int64(repairableCount))
            try v.int("explainedCount", Int64(explainedCount))
            try v.json("bySeverity", .object(bySeverity.mapValues { .int(Int64($0)) }))
            try v.int("periodDays", periodDays)
            try v.int("unmappedStripeCustomers", unmappedStripeCustomers)
            try v.object("atRisk", atRisk)
            try v.strings("heldChecks", heldChecks)
            try v.object("bootstrap", bootstrap.run)
        }
    }

    /// `summary.bootstrap`: `null`, or the end time and rows of the latest completed bootstrap.
    /// Written by `Summary`'s field list as `run` or null.
    public struct LastBootstrap: Sendable, Hashable, Decodable {
        public struct Run: Sendable, Hashable, Codable, JSONFields {
            public var lastRunAt: String
            public var rows: Int64
            public init(lastRunAt: String, rows: Int64) {
                self.lastRunAt = lastRunAt
                self.rows = rows
            }

            public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
                try v.string("lastRunAt", lastRunAt)
                try v.int("rows", rows)
            }
        }
        public var run: Run?

        public init(run: Run? = nil) { self.run = run }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            run = container.decodeNil() ? nil : try container.decode(Run.self)
        }
    }

    /// `summary.atRisk`.
    public struct AtRiskTotals: Sendable, Hashable, Codable, JSONFields {
        public var leakageCredits: Int64
        public var customerHarmCredits: Int64

        public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
            try v.int("leakageCredits", leakageCredits)
            try v.int("customerHarmCredits", customerHarmCredits)
        }
    }

    /// One named release guardrail of the runbook.
    public struct Guardrail: Sendable, Hashable, Codable, JSONFields {
        public var name: String
        public var passed: Bool
        public var reason: String

        public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
            try v.string("name", name)
            try v.bool("passed", passed)
            try v.string("reason", reason)
        }
    }

    /// One open issue as the report lists it.
    public struct Issue: Sendable, Hashable, Codable, JSONFields {
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

        enum CodingKeys: String, CodingKey, CaseIterable {
            case issueId, category, check, severity, userId, revenueImpacting, title, evidence, repair, explanation,
                firstSeenAt, lastSeenAt, atRisk, acknowledgement, snoozedUntil
        }

        // Explicit nulls, in the CodingKeys' order.
        public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
            try v.string("issueId", issueId)
            try v.string("category", category.rawValue)
            try v.string("check", check.rawValue)
            try v.string("severity", severity.rawValue)
            try v.string("userId", userId)
            try v.bool("revenueImpacting", revenueImpacting)
            try v.string("title", title)
            try v.json("evidence", evidence)
            try v.object("repair", repair)
            try v.object("explanation", explanation)
            try v.string("firstSeenAt", firstSeenAt)
            try v.string("lastSeenAt", lastSeenAt)
            try v.object("atRisk", atRisk)
            try v.object("acknowledgement", acknowledgement)
            try v.string("snoozedUntil", snoozedUntil)
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

    /// The admin API's answer: written with `JSONWriter`, as the report lists thousands of issues.
    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.string("generatedAt", generatedAt)
        try v.object("summary", summary)
        try v.objects("guardrails", guardrails)
        try v.objects("issues", issues)
    }

    /// Whether an open issue counts towards `alertCount`: revenue-impacting, error or critical, and
    /// neither explained, acknowledged nor snoozed.
    /// Every open `input-stalled` issue counts too (contract, *Alert*).
    public static func isAlertWorthy(_ event: IssueEvent) -> Bool {
        event.status == .open && !event.hasOperatorAction
            && ((event.revenueImpacting && event.severity >= .error) || event.check == .inputStalled)
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
    public static func build(
        openIssues: [IssueEvent], counts: Counts, periodDays: Int64, nowMs: Int64, heldChecks: [String] = [],
        bootstrap: LastBootstrap.Run? = nil
    ) -> AssuranceReport {
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
                customerHarmCredits: sumCredits(open.filter { $0.atRisk.direction == .customerHarm }.map(\.atRisk))),
            heldChecks: heldChecks,
            bootstrap: LastBootstrap(run: bootstrap))
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
