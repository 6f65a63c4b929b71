/// The actor of a repair command.
public struct CommandActor: Sendable, Hashable, Codable {
    public var id: String
    public var role: String
    public init(id: String, role: String) {
        self.id = id
        self.role = role
    }
}

/// `repair` (default), `explain`, `ack` or `snooze` (with `until`).
public enum CommandAction: String, Sendable, Codable, Hashable, CaseIterable {
    case repair, explain, ack, snooze
}

/// One admin repair command on `billing.assurance.commands.v1`.
public struct RepairCommand: Sendable, Hashable, Codable {
    public var commandId: String
    public var issueId: String
    public var reason: String
    public var actor: CommandActor
    /// The exact string sent: it is part of the signed text.
    public var requestedAt: String
    public var dryRun: Bool?
    public var action: CommandAction?
    /// The end of a snooze, the exact string sent (signed as `snooze:<until>`).
    public var until: String?
    public var signature: String

    public init(
        commandId: String, issueId: String, reason: String, actor: CommandActor, requestedAt: String,
        dryRun: Bool? = nil, action: CommandAction? = nil, until: String? = nil, signature: String
    ) {
        self.commandId = commandId
        self.issueId = issueId
        self.reason = reason
        self.actor = actor
        self.requestedAt = requestedAt
        self.dryRun = dryRun
        self.action = action
        self.until = until
        self.signature = signature
    }

    /// `dry_run`, `explain`, `ack`, `snooze:<until>` or `apply`: the last line of the signed text.
    public var signingMode: String {
        switch action ?? .repair {
        case .explain: return "explain"
        case .ack: return "ack"
        case .snooze: return "snooze:" + (until ?? "")
        case .repair: return (dryRun ?? false) ? "dry_run" : "apply"
        }
    }

    /// The UTF-8 text the HMAC-SHA256 signature covers.
    public var signingText: String {
        [commandId, issueId, reason, actor.id, actor.role, requestedAt, signingMode].joined(separator: "\n")
    }
}

/// `outcome` of a repair result.
public enum RepairOutcome: String, Sendable, Codable, Hashable {
    case applied
    case dryRun = "dry_run"
    case explained, acknowledged, snoozed, rejected, duplicate
}

/// `rejection` of a repair result.
public enum RepairRejection: String, Sendable, Codable, Hashable {
    case invalid
    case invalidSignature = "invalid_signature"
    case unauthorized, expired
    case notFound = "not_found"
    case notOpen = "not_open"
    case notRepairable = "not_repairable"
    case stale, failed
}

/// One audit row an applied repair wrote.
public struct AuditReference: Sendable, Hashable, Codable, JSONFields {
    public var table: String
    public var id: String
    public init(table: String, id: String) {
        self.table = table
        self.id = id
    }

    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.string("table", table)
        try v.string("id", id)
    }
}

/// One result per repair command on `billing.assurance.repairs.v1`.
public struct RepairResult: Sendable, Hashable, Codable, JSONFields {
    /// The command's id; empty when the command carried no usable one (on the wire: `null`).
    public var commandId: String
    public var issueId: String
    public var outcome: RepairOutcome
    public var action: String?
    public var rejection: RepairRejection?
    public var detail: String?
    public var audit: [AuditReference]
    public var plan: JSONValue?
    public var processedAt: String

    public init(
        commandId: String, issueId: String, outcome: RepairOutcome, action: String?, rejection: RepairRejection? = nil,
        detail: String? = nil, audit: [AuditReference] = [], plan: JSONValue? = nil, processedAt: String
    ) {
        self.commandId = commandId
        self.issueId = issueId
        self.outcome = outcome
        self.action = action
        self.rejection = rejection
        self.detail = detail
        self.audit = audit
        self.plan = plan
        self.processedAt = processedAt
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case commandId, issueId, outcome, action, rejection, detail, audit, plan, processedAt
    }

    // `detail` and `plan` are left out when nil; the others are explicit nulls.
    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        // No identifier is empty (contract: 1–200 bytes), so "" unambiguously stands for "none".
        try v.string("commandId", commandId.isEmpty ? nil : commandId)
        try v.string("issueId", issueId)
        try v.string("outcome", outcome.rawValue)
        try v.string("action", action)
        try v.string("rejection", rejection?.rawValue)
        if let detail { try v.string("detail", detail) }
        try v.objects("audit", audit)
        if let plan { try v.json("plan", plan) }
        try v.string("processedAt", processedAt)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        commandId = try c.decodeIfPresent(String.self, forKey: .commandId) ?? ""
        issueId = try c.decode(String.self, forKey: .issueId)
        outcome = try c.decode(RepairOutcome.self, forKey: .outcome)
        action = try c.decodeIfPresent(String.self, forKey: .action)
        rejection = try c.decodeIfPresent(RepairRejection.self, forKey: .rejection)
        detail = try c.decodeIfPresent(String.self, forKey: .detail)
        audit = try c.decodeIfPresent([AuditReference].self, forKey: .audit) ?? []
        plan = try c.decodeIfPresent(JSONValue.self, forKey: .plan)
        processedAt = try c.decode(String.self, forKey: .processedAt)
    }
}
