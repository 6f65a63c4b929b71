import Foundation
import Shared
import WorkerRuntime

/// Renders the assurance report as a table an on-call engineer can read in a terminal.
enum ReportPrinter {
    static func render(_ report: AssuranceReport, maxIssues: Int = 40) -> String {
        let s = report.summary
        var lines: [String] = []
        lines.append("Billing assurance report (\(report.generatedAt), period \(s.periodDays) days)")
        lines.append(
            "  status \(s.status.uppercased())   score \(s.score)/100   alerts \(s.alertCount)   open issues \(s.openIssues)")
        lines.append(
            "  checked users \(s.checkedUsers)   ledger rows \(s.ledgerRows)   webhook events \(s.webhookEvents)"
                + "   unmapped Stripe customers \(s.unmappedStripeCustomers)")
        lines.append(
            "  revenue-impacting \(s.revenueImpactingCount)   repairable \(s.repairableCount)   explained \(s.explainedCount)   failed plan gates \(s.failedPlanGates)")
        lines.append("  guardrails:")
        for guardrail in report.guardrails {
            lines.append("    [\(guardrail.passed ? "pass" : "FAIL")] \(guardrail.name): \(guardrail.reason)")
        }
        guard !report.issues.isEmpty else {
            lines.append("  no open issues")
            return lines.joined(separator: "\n")
        }
        let rows = report.issues.prefix(maxIssues).map { issue in
            [
                issue.severity.rawValue, issue.category.rawValue, issue.issueId,
                issue.repair?.action.rawValue ?? (issue.explanation != nil ? "(explained)" : "-"),
            ]
        }
        let headers = ["severity", "category", "issue", "repair"]
        var widths = headers.map(\.count)
        for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
        func line(_ cells: [String]) -> String {
            "  " + cells.enumerated().map { $0.element.padding(toLength: widths[$0.offset], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        lines.append(line(headers))
        lines.append(line(widths.map { String(repeating: "-", count: $0) }))
        lines.append(contentsOf: rows.map(line))
        if report.issues.count > maxIssues {
            lines.append("  … and \(report.issues.count - maxIssues) more (use --json for all)")
        }
        return lines.joined(separator: "\n")
    }
}
