import Foundation
import Testing

/// The README's first command, in a reduced size: `assure-worker demo` as a child process.
@Suite struct DemoTests {
    @Test func theDemoFindsTheInjectedFaultsAppliesOneRepairOfEveryKindAndAuditsClean() async throws {
        let (status, text) = try await ChildWorker.run(
            try ChildWorker.executableURL(), ["demo", "--users", "150", "--events-per-user", "10", "--settle-ms", "1000"])
        #expect(status == 0, "demo output:\n\(text)")
        #expect(text.contains("injected faults detected"))
        for action in ["sync_balance", "downgrade_to_free", "disable_unlimited_credits", "backfill_webhook_record"] {
            let line = text.split(separator: "\n").first { $0.hasPrefix("  \(action) ") }
            #expect(line?.contains(": applied") == true, "\(action): \(line ?? "no line")")
        }
        #expect(text.contains("4 repairs applied"))
        #expect(text.contains("audit clean"))
        #expect(text.contains("status CRITICAL"))
        // One fault of each Stripe kind, shown in the report.
        for id in [
            "stripe-paid-local-free:user_stripe_free", "stripe-inactive-local-paid:user_stripe_canceled",
            "invoice-without-grant:in_stripe_nogrant",
        ] {
            #expect(text.contains("    critical \(id)") || text.contains("    error \(id)"), "\(id) not in the demo's report")
        }
    }
}
