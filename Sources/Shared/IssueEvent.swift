/// `open` or `resolved`.
public enum IssueStatus: String, Sendable, Codable, Hashable {
    case open, resolved
}

/// How a resolved issue was resolved.
public enum Resolution: String, Sendable, Codable, Hashable {
    case repaired
    case selfHealed = "self_healed"
}

/// The repair an issue suggests (`repair` of the issue event).
public struct RepairSuggestion: Sendable, Hashable, Codable, JSONFields {
    public var action: RepairAction
    public var description: String
    public init(action: RepairAction, description: String) {
        self.action = action
        self.description = description
    }

    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.string("action", action.rawValue)
        try v.string("description", description)
    }
}

/// An incident note recorded by the `explain` action.
public struct Explanation: Sendable, Hashable, Codable, JSONFields {
    public var note: String
    public var actor: String
    public var commandId: String
    public var at: String
    public init(note: String, actor: String, commandId: String, at: String) {
        self.note = note
        self.actor = actor
        self.commandId = commandId
        self.at = at
    }

    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.string("note", note)
        try v.string("actor", actor)
        try v.string("commandId", commandId)
        try v.string("at", at)
    }
}

/// An operator's acknowledgement (`ack`): the issue stays open and leaves the alerts.
public struct Acknowledgement: Sendable, Hashable, Codable, JSONFields {
    public var actor: String
    public var note: String
    public var commandId: String
    public var at: String
    public init(actor: String, note: String, commandId: String, at: String) {
        self.actor = actor
        self.note = note
        self.commandId = commandId
        self.at = at
    }

    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.string("actor", actor)
        try v.string("note", note)
        try v.string("commandId", commandId)
        try v.string("at", at)
    }
}

/// One issue lifecycle event on `billing.assurance.issues.v1`, exactly as the contract shows it.
public struct IssueEvent: Sendable, Hashable, Codable, JSONFields {
    public var issueId: String
    public var version: Int64
    public var status: IssueStatus
    public var category: IssueCategory
    public var check: CheckKind
    public var severity: Severity
    public var userId: String?
    public var revenueImpacting: Bool
    public var title: String
    public var evidence: JSONValue
    public var repair: RepairSuggestion?
    public var firstSeenAt: String
    public var lastSeenAt: String
    public var resolvedAt: String?
    public var resolution: Resolution?
    public var explanation: Explanation?
    /// What the issue puts at risk (the contract's *Amount at risk*).
    public var atRisk: AtRisk
    public var acknowledgement: Acknowledgement?
    /// RFC 3339 end of a snooze, as the command sent it.
    public var snoozedUntil: String?
    /// True on the event that withdrew an operator action because the evidence worsened.
    public var resurfaced: Bool
    /// What produced this event.
    public var cause: IssueCause

    public init(
        issueId: String, version: Int64, status: IssueStatus, check: CheckKind, userId: String?, title: String,
        evidence: JSONValue, repair: RepairSuggestion?, firstSeenAt: String, lastSeenAt: String,
        resolvedAt: String? = nil, resolution: Resolution? = nil, explanation: Explanation? = nil,
        atRisk: AtRisk = .unknown, acknowledgement: Acknowledgement? = nil, snoozedUntil: String? = nil,
        resurfaced: Bool = false, cause: IssueCause = .timer
    ) {
        self.issueId = issueId
        self.version = version
        self.status = status
        self.category = check.category
        self.check = check
        self.severity = check.severity
        self.userId = userId
        self.revenueImpacting = check.revenueImpacting
        self.title = title
        self.evidence = evidence
        self.repair = repair
        self.firstSeenAt = firstSeenAt
        self.lastSeenAt = lastSeenAt
        self.resolvedAt = resolvedAt
        self.resolution = resolution
        self.explanation = explanation
        self.atRisk = atRisk
        self.acknowledgement = acknowledgement
        self.snoozedUntil = snoozedUntil
        self.resurfaced = resurfaced
        self.cause = cause
    }

    /// Whether an operator action (explanation, acknowledgement or snooze) is in force.
    public var hasOperatorAction: Bool { explanation != nil || acknowledgement != nil || snoozedUntil != nil }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case issueId, version, status, category, check, severity, userId, revenueImpacting, title, evidence, repair,
            firstSeenAt, lastSeenAt, resolvedAt, resolution, explanation, atRisk, acknowledgement, snoozedUntil,
            resurfaced, cause
    }

    // Events stored before the on-call fields existed decode with their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        issueId = try c.decode(String.self, forKey: .issueId)
        version = try c.decode(Int64.self, forKey: .version)
        status = try c.decode(IssueStatus.self, forKey: .status)
        category = try c.decode(IssueCategory.self, forKey: .category)
        check = try c.decode(CheckKind.self, forKey: .check)
        severity = try c.decode(Severity.self, forKey: .severity)
        userId = try c.decodeIfPresent(String.self, forKey: .userId)
        revenueImpacting = try c.decode(Bool.self, forKey: .revenueImpacting)
        title = try c.decode(String.self, forKey: .title)
        evidence = try c.decodeIfPresent(JSONValue.self, forKey: .evidence) ?? .null
        repair = try c.decodeIfPresent(RepairSuggestion.self, forKey: .repair)
        firstSeenAt = try c.decode(String.self, forKey: .firstSeenAt)
        lastSeenAt = try c.decode(String.self, forKey: .lastSeenAt)
        resolvedAt = try c.decodeIfPresent(String.self, forKey: .resolvedAt)
        resolution = try c.decodeIfPresent(Resolution.self, forKey: .resolution)
        explanation = try c.decodeIfPresent(Explanation.self, forKey: .explanation)
        atRisk = try c.decodeIfPresent(AtRisk.self, forKey: .atRisk) ?? check.atRisk(evidence: evidence)
        acknowledgement = try c.decodeIfPresent(Acknowledgement.self, forKey: .acknowledgement)
        snoozedUntil = try c.decodeIfPresent(String.self, forKey: .snoozedUntil)
        resurfaced = try c.decodeIfPresent(Bool.self, forKey: .resurfaced) ?? false
        cause = try c.decodeIfPresent(IssueCause.self, forKey: .cause) ?? .timer
    }

    // Explicit nulls: the contract shows `"resolvedAt": null`, and clients may look for the key.
    // The order is the wire order (the CodingKeys' order).
    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.string("issueId", issueId)
        try v.int("version", version)
        try v.string("status", status.rawValue)
        try v.string("category", category.rawValue)
        try v.string("check", check.rawValue)
        try v.string("severity", severity.rawValue)
        try v.string("userId", userId)
        try v.bool("revenueImpacting", revenueImpacting)
        try v.string("title", title)
        try v.json("evidence", evidence)
        try v.object("repair", repair)
        try v.string("firstSeenAt", firstSeenAt)
        try v.string("lastSeenAt", lastSeenAt)
        try v.string("resolvedAt", resolvedAt)
        try v.string("resolution", resolution?.rawValue)
        try v.object("explanation", explanation)
        try v.object("atRisk", atRisk)
        try v.object("acknowledgement", acknowledgement)
        try v.string("snoozedUntil", snoozedUntil)
        try v.bool("resurfaced", resurfaced)
        try v.object("cause", cause)
    }
}
