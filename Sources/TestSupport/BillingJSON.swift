import Shared

/// The contract's JSON for input records, written by hand so traffic generation stays fast.
public enum BillingJSON {
    public static func ledger(_ row: LedgerRow) -> [UInt8] {
        var out = "{\"id\":\(quote(row.id)),\"userId\":\(quote(row.userId)),\"seq\":\(row.seq),"
        out += "\"type\":\"\(row.type.rawValue)\",\"amount\":\(row.amount),\"balanceAfter\":\(row.balanceAfter),"
        out += "\"stripeEventId\":\(quote(row.stripeEventId)),\"stripePaymentIntentId\":\(quote(row.stripePaymentIntentId)),"
        out += "\"stripeInvoiceId\":\(quote(row.stripeInvoiceId)),\"reason\":\(quote(row.reason)),"
        out += "\"createdAt\":\"\(Timestamp.format(row.createdAtMs))\"}"
        return Array(out.utf8)
    }

    public static func account(_ a: AccountSnapshot) -> [UInt8] {
        var out = "{\"userId\":\(quote(a.userId)),\"role\":\"\(a.role.rawValue)\",\"tier\":\"\(a.tier.rawValue)\","
        out += "\"credits\":\(a.credits),\"unlimitedCredits\":\(a.unlimitedCredits),"
        out += "\"stripeCustomerId\":\(quote(a.stripeCustomerId)),\"stripeSubscriptionId\":\(quote(a.stripeSubscriptionId)),"
        out += "\"subscriptionStatus\":\(quote(a.subscriptionStatus)),\"updatedAt\":\"\(Timestamp.format(a.updatedAtMs))\""
        if let version = a.version { out += ",\"version\":\(version)" }
        out += "}"
        return Array(out.utf8)
    }

    public static func webhook(_ w: WebhookRecord) -> [UInt8] {
        var out = "{\"eventId\":\(quote(w.eventId)),\"type\":\(quote(w.type)),"
        out += "\"stripePaymentIntentId\":\(quote(w.stripePaymentIntentId)),\"stripeInvoiceId\":\(quote(w.stripeInvoiceId)),"
        out += "\"processedAt\":\(quote(w.processedAtMs.map(Timestamp.format))),\"source\":\(quote(w.source))}"
        return Array(out.utf8)
    }

    public static func gate(_ g: PlanGate) -> [UInt8] {
        let tiers = g.allowedTiers.map(\.rawValue).sorted().map { "\"\($0)\"" }.joined(separator: ",")
        return Array(
            "{\"feature\":\(quote(g.feature)),\"allowedTiers\":[\(tiers)],\"updatedAt\":\"\(Timestamp.format(g.updatedAtMs))\"}".utf8)
    }

    /// A Stripe Event object as Stripe sends it: the fields the checks read among others they ignore.
    public static func stripe(_ e: StripeEvent) -> [UInt8] {
        let object: String
        if e.type == .invoicePaid {
            object = "{\"id\":\(quote(e.objectId)),\"object\":\"invoice\",\"customer\":\(quote(e.customerId)),"
                + "\"subscription\":\(quote(e.subscriptionId)),\"billing_reason\":\(quote(e.billingReason)),"
                + "\"amount_paid\":\(e.amountPaid.map(String.init) ?? "null"),\"currency\":\(quote(e.currency)),"
                + "\"status\":\"paid\",\"lines\":{\"object\":\"list\",\"data\":[]}}"
        } else {
            object = "{\"id\":\(quote(e.objectId)),\"object\":\"subscription\",\"customer\":\(quote(e.customerId)),"
                + "\"status\":\(quote(e.status)),\"cancel_at_period_end\":false,\"metadata\":{}}"
        }
        let out = "{\"id\":\(quote(e.id)),\"object\":\"event\",\"api_version\":\"2024-06-20\","
            + "\"created\":\(e.createdMs / 1000),\"data\":{\"object\":\(object)},\"livemode\":false,"
            + "\"pending_webhooks\":1,\"request\":{\"id\":null},\"type\":\"\(e.type.rawValue)\"}"
        return Array(out.utf8)
    }

    /// A JSON string literal, or `null`.
    public static func quote(_ text: String?) -> String {
        guard let text else { return "null" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
