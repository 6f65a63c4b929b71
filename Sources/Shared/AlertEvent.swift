/// One deduplicated operational alert on `billing.assurance.alerts.v1`.
public struct AlertEvent: Sendable, Hashable, Codable, JSONFields {
    public var alertId: String
    public var fingerprint: String
    public var severity: Severity
    /// At most ``maxListedIssueIds`` ids, the highest severity first, then by id.
    public var issueIds: [String]
    /// The full count, also when ids were left out.
    public var issueCount: Int
    /// Whether ids were left out of `issueIds`.
    public var issueIdsTruncated: Bool = false
    public var summary: String
    public var emittedAt: String
    public var dedupWindowSeconds: Int64
    public var windowExpiresAt: String
    public var suppressedSinceLastAlert: Int64
    /// The sum of `atRisk.credits` over the alerted set (null counts as 0).
    public var atRiskCredits: Int64 = 0

    /// Alerts list at most this many issue ids, so no alert comes near the 900 000-byte output limit.
    public static let maxListedIssueIds = 200

    public init(
        alertId: String, fingerprint: String, severity: Severity, issueIds: [String], summary: String,
        emittedAt: String, dedupWindowSeconds: Int64, windowExpiresAt: String, suppressedSinceLastAlert: Int64
    ) {
        self.alertId = alertId
        self.fingerprint = fingerprint
        self.severity = severity
        self.issueIds = issueIds
        self.issueCount = issueIds.count
        self.summary = summary
        self.emittedAt = emittedAt
        self.dedupWindowSeconds = dedupWindowSeconds
        self.windowExpiresAt = windowExpiresAt
        self.suppressedSinceLastAlert = suppressedSinceLastAlert
    }

    /// In declaration order (the order of the synthesized CodingKeys that decode it).
    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.string("alertId", alertId)
        try v.string("fingerprint", fingerprint)
        try v.string("severity", severity.rawValue)
        try v.strings("issueIds", issueIds)
        try v.int("issueCount", Int64(issueCount))
        try v.bool("issueIdsTruncated", issueIdsTruncated)
        try v.string("summary", summary)
        try v.string("emittedAt", emittedAt)
        try v.int("dedupWindowSeconds", dedupWindowSeconds)
        try v.string("windowExpiresAt", windowExpiresAt)
        try v.int("suppressedSinceLastAlert", suppressedSinceLastAlert)
        try v.int("atRiskCredits", atRiskCredits)
    }
}

/// Every input message that could not be used, on `billing.assurance.dlq.v1`.
public struct DeadLetter: Sendable, Hashable, Codable, JSONFields {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The key as text when it is valid UTF-8 without control characters, else nil.
    public var key: String?
    /// The original key bytes (nil for no key).
    public var keyBase64: String?
    /// At most the first 256 KiB of the payload (nil for a tombstone).
    public var payloadBase64: String?
    /// Whether `payloadBase64` was cut.
    public var payloadTruncated: Bool
    public var error: String
    public var receivedAt: String

    public init(
        topic: String, partition: Int32, offset: Int64, key: String?, keyBase64: String? = nil,
        payloadBase64: String?, payloadTruncated: Bool = false, error: String, receivedAt: String
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.keyBase64 = keyBase64
        self.payloadBase64 = payloadBase64
        self.payloadTruncated = payloadTruncated
        self.error = error
        self.receivedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case topic, partition, offset, key, keyBase64, payloadBase64, payloadTruncated, error, receivedAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        topic = try c.decode(String.self, forKey: .topic)
        partition = try c.decode(Int32.self, forKey: .partition)
        offset = try c.decode(Int64.self, forKey: .offset)
        key = try c.decodeIfPresent(String.self, forKey: .key)
        keyBase64 = try c.decodeIfPresent(String.self, forKey: .keyBase64)
        payloadBase64 = try c.decodeIfPresent(String.self, forKey: .payloadBase64)
        payloadTruncated = try c.decodeIfPresent(Bool.self, forKey: .payloadTruncated) ?? false
        error = try c.decode(String.self, forKey: .error)
        receivedAt = try c.decode(String.self, forKey: .receivedAt)
    }

    // Explicit nulls: a keyless tombstone has `"key": null, "keyBase64": null, "payloadBase64": null`.
    public func writeFields<Visitor: JSONFieldVisitor>(into v: inout Visitor) throws(Visitor.Failure) {
        try v.string("topic", topic)
        try v.int("partition", Int64(partition))
        try v.int("offset", offset)
        try v.string("key", key)
        try v.string("keyBase64", keyBase64)
        try v.string("payloadBase64", payloadBase64)
        try v.bool("payloadTruncated", payloadTruncated)
        try v.string("error", error)
        try v.string("receivedAt", receivedAt)
    }
}
