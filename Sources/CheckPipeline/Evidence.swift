import Shared

// The evidence last emitted for each open self-healing issue, in compact typed form. The JSON is
// built only when a transition is emitted, never on the hot path of rows that change nothing.

/// Evidence of `credit_balance_mismatch`.
struct BalanceEvidence: Sendable, Hashable, Codable {
    var balance: Int64
    var ledgerBalanceAfter: Int64
    var ledgerSeq: Int64

    var json: JSONValue {
        .object(["balance": .int(balance), "ledgerBalanceAfter": .int(ledgerBalanceAfter), "ledgerSeq": .int(ledgerSeq)])
    }
}

/// Evidence of `ledger_sequence_gap`: one maximal run of missing seqs.
struct GapEvidence: Sendable, Hashable, Codable {
    var first: Int64
    var last: Int64

    var json: JSONValue { json(untracked: nil) }

    /// The evidence, with the user's untracked holes when the state stopped tracking some.
    func json(untracked: UntrackedHoles?) -> JSONValue {
        var fields: [String: JSONValue] = [
            "firstMissingSeq": .int(first), "lastMissingSeq": .int(last), "missingCount": .int(last - first + 1),
        ]
        if let untracked {
            fields["untrackedHoles"] = .int(untracked.count)
            fields["untrackedMissingSeqs"] = .int(untracked.missingSeqs)
        }
        return .object(fields)
    }
}

/// Evidence of the account checks; each check fills only the fields it shows.
struct AccountEvidence: Sendable, Hashable, Codable {
    var tier: Tier?
    var role: Role?
    var subscriptionStatus: String?
    var stripeCustomerId: String?
}

/// Evidence of `stale_paid_subscription`.
struct StaleEvidence: Sendable, Hashable, Codable {
    var tier: Tier
    var paidSinceMs: Int64
    var lastInvoiceGrantMs: Int64?

    func json(periodDays: Int64) -> JSONValue {
        .object([
            "tier": .string(tier.rawValue),
            "paidSince": .string(Timestamp.format(paidSinceMs)),
            "lastInvoiceGrantAt": lastInvoiceGrantMs.map { .string(Timestamp.format($0)) } ?? .null,
            "periodDays": .int(periodDays),
        ])
    }
}

/// Evidence of a group issue (missing webhook record, duplicate event / payment intent / invoice).
struct GroupEvidence: Sendable, Hashable, Codable {
    var rowIds: [String]
    var rowCount: Int
    var userId: String?
    /// The duplicate-set sum (duplicate checks only).
    var excess: Int64? = nil

    func json(idField: String, id: String) -> JSONValue {
        .object([
            idField: .string(id), "ledgerRowIds": .array(rowIds.map(JSONValue.string)), "rowCount": .int(Int64(rowCount)),
        ])
    }
}

/// Evidence of `plan_gate_regression`.
struct GateEvidence: Sendable, Hashable, Codable {
    var allowed: [Tier]
    var expected: [Tier]
    var level: PlanPolicy.Level

    func json(feature: String) -> JSONValue {
        .object([
            "feature": .string(feature),
            "allowedTiers": .array(allowed.map { .string($0.rawValue) }),
            "expectedTiers": .array(expected.map { .string($0.rawValue) }),
            "policy": .string(level.rawValue),
        ])
    }
}
