import Shared

/// The fields of one record kind as they are read, before required fields are checked.
///
/// Each kind has two key tables: the contract's camelCase names and the snake_case columns that Debezium
/// puts in `after`. Field numbers index both tables and the `nulls` bit set.
protocol RecordFields {
    init()
    /// Bit `i` is set when field `i` was given as an explicit JSON `null` (and not overwritten since).
    var nulls: UInt32 { get set }
    static var camelCase: FieldTable { get }
    static var snakeCase: FieldTable { get }
    /// Reads field `field`'s value at the cursor.
    mutating func read(_ field: Int, from scanner: inout JSONScanner, debezium: Bool) throws(DecodeProblem)
    /// Checks required fields and the contract's limits (``InputLimits``) and builds the record; `names`
    /// is the table the fields were read with, `notAfterMs` the latest event time accepted.
    func finish(_ names: [String], notAfterMs: Int64) throws(DecodeProblem) -> BillingRecord
}

extension RecordFields {
    /// The reason for a required field that is absent: missing, or given as `null`.
    func absent(_ field: Int, _ names: [String]) -> DecodeProblem {
        if nulls & (1 << field) != 0 { return .reason("field '\(names[field])' must not be null") }
        return .reason("missing required field '\(names[field])'")
    }

    /// Throws unless `value` (when present) is a usable identifier.
    func identifier(_ value: String?, _ field: Int, _ names: [String]) throws(DecodeProblem) {
        guard let value, let problem = InputLimits.identifierProblem(value, field: names[field]) else { return }
        throw .reason(problem)
    }

    /// Throws unless `value` (when present) is a usable free-text string.
    func text(_ value: String?, _ field: Int, _ names: [String]) throws(DecodeProblem) {
        guard let value, let problem = InputLimits.textProblem(value, field: names[field]) else { return }
        throw .reason(problem)
    }

    /// Throws when the event time `ms` (when present) lies too far ahead of the worker's clock.
    func notInFuture(_ ms: Int64?, _ field: Int, _ names: [String], _ notAfterMs: Int64) throws(DecodeProblem) {
        guard let ms, let problem = InputLimits.futureProblem(ms, field: names[field], notAfterMs: notAfterMs) else {
            return
        }
        throw .reason(problem)
    }
}

/// The vocabularies of the contract's enum fields.
enum Vocabulary {
    static let ledgerTypes = EnumTable<LedgerType>()
    static let tiers = EnumTable<Tier>()
    static let roles = EnumTable<Role>()
}

/// `billing.ledger.v1` / `credit_transactions`.
struct LedgerFields: RecordFields {
    var id: String?
    var userId: String?
    var seq: Int64?
    var type: LedgerType?
    var amount: Int64?
    var balanceAfter: Int64?
    var stripeEventId: String?
    var stripePaymentIntentId: String?
    var stripeInvoiceId: String?
    var reason: String?
    var createdAtMs: Int64?
    var nulls: UInt32 = 0

    static let camelCase = FieldTable([
        "id", "userId", "seq", "type", "amount", "balanceAfter", "stripeEventId", "stripePaymentIntentId",
        "stripeInvoiceId", "reason", "createdAt",
    ])
    static let snakeCase = FieldTable([
        "id", "user_id", "seq", "type", "amount", "balance_after", "stripe_event_id", "stripe_payment_intent_id",
        "stripe_invoice_id", "reason", "created_at",
    ])

    mutating func read(_ field: Int, from s: inout JSONScanner, debezium: Bool) throws(DecodeProblem) {
        switch field {
        case 0: id = try s.readString()
        case 1: userId = try s.readString()
        case 2: seq = try s.readInt64(debezium: debezium)
        case 3: type = try s.readEnum(Vocabulary.ledgerTypes)
        case 4: amount = try s.readInt64(debezium: debezium)
        case 5: balanceAfter = try s.readInt64(debezium: debezium)
        case 6: stripeEventId = try s.readString()
        case 7: stripePaymentIntentId = try s.readString()
        case 8: stripeInvoiceId = try s.readString()
        case 9: reason = try s.readString()
        default: createdAtMs = try s.readTimestamp()
        }
    }

    func finish(_ names: [String], notAfterMs: Int64) throws(DecodeProblem) -> BillingRecord {
        guard let id else { throw absent(0, names) }
        guard let userId else { throw absent(1, names) }
        guard let seq else { throw absent(2, names) }
        guard let type else { throw absent(3, names) }
        guard let amount else { throw absent(4, names) }
        guard let balanceAfter else { throw absent(5, names) }
        guard let createdAtMs else { throw absent(10, names) }
        guard seq >= 1 else { throw .reason("field '\(names[2])' must be at least 1, not \(seq)") }
        try identifier(id, 0, names)
        try identifier(userId, 1, names)
        try identifier(stripeEventId, 6, names)
        try identifier(stripePaymentIntentId, 7, names)
        try identifier(stripeInvoiceId, 8, names)
        try text(reason, 9, names)
        try notInFuture(createdAtMs, 10, names, notAfterMs)
        return .ledger(
            LedgerRow(
                id: id, userId: userId, seq: seq, type: type, amount: amount, balanceAfter: balanceAfter,
                stripeEventId: stripeEventId, stripePaymentIntentId: stripePaymentIntentId,
                stripeInvoiceId: stripeInvoiceId, reason: reason, createdAtMs: createdAtMs))
    }
}

/// `billing.accounts.v1` / `users`.
///
/// `role` is required: it decides the unlimited-credits check and who may repair, so guessing `USER` for a
/// snapshot without one would raise false alarms; such a snapshot goes to the dead-letter topic instead.
/// `unlimitedCredits` defaults to false. In a Debezium row the user id is the `users.id` column
/// (`user_id` is accepted as well).
struct AccountFields: RecordFields {
    var userId: String?
    var role: Role?
    var tier: Tier?
    var credits: Int64?
    var unlimitedCredits: Bool?
    var stripeCustomerId: String?
    var stripeSubscriptionId: String?
    var subscriptionStatus: String?
    var updatedAtMs: Int64?
    var version: Int64?
    var nulls: UInt32 = 0

    static let camelCase = FieldTable([
        "userId", "role", "tier", "credits", "unlimitedCredits", "stripeCustomerId", "stripeSubscriptionId",
        "subscriptionStatus", "updatedAt", "version",
    ])
    static let snakeCase = FieldTable(
        [
            "id", "role", "tier", "credits", "unlimited_credits", "stripe_customer_id", "stripe_subscription_id",
            "subscription_status", "updated_at", "version",
        ], aliases: [("user_id", 0)])

    mutating func read(_ field: Int, from s: inout JSONScanner, debezium: Bool) throws(DecodeProblem) {
        switch field {
        case 0: userId = try s.readString()
        case 1: role = try s.readEnum(Vocabulary.roles)
        case 2: tier = try s.readEnum(Vocabulary.tiers)
        case 3: credits = try s.readInt64(debezium: debezium)
        case 4: unlimitedCredits = try s.readBool()
        case 5: stripeCustomerId = try s.readString()
        case 6: stripeSubscriptionId = try s.readString()
        case 7: subscriptionStatus = try s.readString()
        case 8: updatedAtMs = try s.readTimestamp()
        default: version = try s.readInt64(debezium: debezium)
        }
    }

    func finish(_ names: [String], notAfterMs: Int64) throws(DecodeProblem) -> BillingRecord {
        guard let userId else { throw absent(0, names) }
        guard let role else { throw absent(1, names) }
        guard let tier else { throw absent(2, names) }
        guard let credits else { throw absent(3, names) }
        guard let updatedAtMs else { throw absent(8, names) }
        try identifier(userId, 0, names)
        try identifier(stripeCustomerId, 5, names)
        try identifier(stripeSubscriptionId, 6, names)
        try text(subscriptionStatus, 7, names)
        try notInFuture(updatedAtMs, 8, names, notAfterMs)
        return .account(
            AccountSnapshot(
                userId: userId, role: role, tier: tier, credits: credits, unlimitedCredits: unlimitedCredits ?? false,
                stripeCustomerId: stripeCustomerId, stripeSubscriptionId: stripeSubscriptionId,
                subscriptionStatus: subscriptionStatus, updatedAtMs: updatedAtMs, version: version))
    }
}

/// `billing.webhooks.v1` / `stripe_webhook_events`. `source` defaults to `stripe`.
struct WebhookFields: RecordFields {
    var eventId: String?
    var type: String?
    var stripePaymentIntentId: String?
    var stripeInvoiceId: String?
    var processedAtMs: Int64?
    var source: String?
    var nulls: UInt32 = 0

    static let camelCase = FieldTable([
        "eventId", "type", "stripePaymentIntentId", "stripeInvoiceId", "processedAt", "source",
    ])
    static let snakeCase = FieldTable([
        "event_id", "type", "stripe_payment_intent_id", "stripe_invoice_id", "processed_at", "source",
    ])

    mutating func read(_ field: Int, from s: inout JSONScanner, debezium: Bool) throws(DecodeProblem) {
        switch field {
        case 0: eventId = try s.readString()
        case 1: type = try s.readString()
        case 2: stripePaymentIntentId = try s.readString()
        case 3: stripeInvoiceId = try s.readString()
        case 4: processedAtMs = try s.readTimestamp()
        default: source = try s.readString()
        }
    }

    func finish(_ names: [String], notAfterMs: Int64) throws(DecodeProblem) -> BillingRecord {
        guard let eventId else { throw absent(0, names) }
        try identifier(eventId, 0, names)
        try identifier(stripePaymentIntentId, 2, names)
        try identifier(stripeInvoiceId, 3, names)
        try text(type, 1, names)
        try text(source, 5, names)
        try notInFuture(processedAtMs, 4, names, notAfterMs)
        return .webhook(
            WebhookRecord(
                eventId: eventId, type: type, stripePaymentIntentId: stripePaymentIntentId,
                stripeInvoiceId: stripeInvoiceId, processedAtMs: processedAtMs, source: source ?? "stripe"))
    }
}

/// `billing.plan-gates.v1`.
struct PlanGateFields: RecordFields {
    var feature: String?
    var allowedTiers: Set<Tier>?
    var updatedAtMs: Int64?
    var nulls: UInt32 = 0

    static let camelCase = FieldTable(["feature", "allowedTiers", "updatedAt"])
    static let snakeCase = FieldTable(["feature", "allowed_tiers", "updated_at"])

    mutating func read(_ field: Int, from s: inout JSONScanner, debezium: Bool) throws(DecodeProblem) {
        switch field {
        case 0: feature = try s.readString()
        case 1: allowedTiers = try s.readEnumSet(Vocabulary.tiers)
        default: updatedAtMs = try s.readTimestamp()
        }
    }

    func finish(_ names: [String], notAfterMs: Int64) throws(DecodeProblem) -> BillingRecord {
        guard let feature else { throw absent(0, names) }
        guard let allowedTiers else { throw absent(1, names) }
        guard let updatedAtMs else { throw absent(2, names) }
        try identifier(feature, 0, names)
        try notInFuture(updatedAtMs, 2, names, notAfterMs)
        return .planGate(PlanGate(feature: feature, allowedTiers: allowedTiers, updatedAtMs: updatedAtMs))
    }
}
