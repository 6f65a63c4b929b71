import Foundation
import Shared
import Testing
import TestSupport
import WorkerRuntime

/// The Stripe checks held on silent inputs through PostgreSQL (contract, *Input health*): the report's
/// `summary.heldChecks` names them while held, and the sweep releases them once the inputs deliver.
@Suite(.serialized) struct StripeHoldTests {
    @Test func stripeChecks_heldWhileTheirInputsAreSilent_showInHeldChecks_thenOpenOnceTheyDeliver() async throws {
        try await DatabaseDriver.with(settleMs: 1000) { driver in
            let now = driver.clock.now
            let topics = driver.settings.topics
            let account = AccountSnapshot(
                userId: "u_held", tier: .free, credits: 0, stripeCustomerId: "cus_held", updatedAtMs: now - 10_000,
                version: 1)
            let active = StripeEvent(
                id: "evt_held_sub", type: .subscriptionCreated, createdMs: now - 9000, customerId: "cus_held",
                objectId: "sub_held", status: "active")
            let paid = StripeEvent(
                id: "evt_held_inv", type: .invoicePaid, createdMs: now - 8000, customerId: "cus_held",
                objectId: "in_held", subscriptionId: "sub_held", billingReason: "subscription_cycle", amountPaid: 900,
                currency: "usd")
            try await driver.consume(
                [
                    StripeEndToEndTests.account(account, topics: topics), StripeEndToEndTests.stripe(active, topics: topics),
                    StripeEndToEndTests.stripe(paid, topics: topics),
                ], inputsFlowing: false)
            @Sendable func report() async throws -> AssuranceReport {
                try await ReportQuery(client: driver.database.client, settings: driver.settings, logger: driver.env.logger)
                    .report()
            }
            // Long past the settle time, with no input delivering: held, nothing opens.
            driver.clock.advance(by: 10 * driver.settings.checks.settleMs)
            _ = try await driver.sweeper.sweepOnce()
            #expect(try await driver.openIssues().isEmpty)
            #expect(try await report().summary.heldChecks == ["paid_invoice_without_grant", "stripe_paid_local_free"])
            // The inputs deliver again: released, and open one settle time later.
            try await driver.settle()
            #expect(try await report().summary.heldChecks == [])
            let open = try await driver.openIssues().map(\.issueId).sorted()
            #expect(open == ["invoice-without-grant:in_held", "stripe-paid-local-free:u_held"], "\(open)")
        }
    }
}
