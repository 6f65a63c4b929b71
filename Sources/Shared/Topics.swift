/// The contract's topic names under one prefix (`ASSURE_TOPIC_PREFIX`, default `billing.`).
public struct Topics: Sendable, Hashable {
    public var prefix: String

    public init(prefix: String = "billing.") { self.prefix = prefix }

    public var ledger: String { prefix + "ledger.v1" }
    public var accounts: String { prefix + "accounts.v1" }
    public var webhooks: String { prefix + "webhooks.v1" }
    public var planGates: String { prefix + "plan-gates.v1" }
    /// Stripe's own Event objects, keyed by customer id.
    public var stripe: String { prefix + "stripe.v1" }
    public var commands: String { prefix + "assurance.commands.v1" }
    public var issues: String { prefix + "assurance.issues.v1" }
    public var alerts: String { prefix + "assurance.alerts.v1" }
    public var repairs: String { prefix + "assurance.repairs.v1" }
    public var deadLetters: String { prefix + "assurance.dlq.v1" }

    /// The five input topics the consumer group reads.
    public var inputs: [String] { [ledger, accounts, webhooks, planGates, stripe] }
    /// Every topic of the contract, inputs and outputs.
    public var all: [String] { inputs + [commands, issues, alerts, repairs, deadLetters] }
}
