/// One deduplicated operational alert on `billing.assurance.alerts.v1`.
public struct AlertEvent: Sendable, Hashable, Codable {
    public var alertId: String
    public var fingerprint: String
    public var severity: Severity
    public var issueIds: [String]
    public var issueCount: Int
    public var summary: String
    public var emittedAt: String
    public var dedupWindowSeconds: Int64
    public var windowExpiresAt: String
    public var suppressedSinceLastAlert: Int64
    /// The sum of `atRisk.credits` over the alerted set (null counts as 0).
    public var atRiskCredits: Int64 = 0

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
}

/// Every input message that could not be used, on `billing.assurance.dlq.v1`.
public struct DeadLetter: Sendable, Hashable, Codable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: String?
    public var payloadBase64: String?
    public var error: String
    public var receivedAt: String

    public init(
        topic: String, partition: Int32, offset: Int64, key: String?, payloadBase64: String?, error: String,
        receivedAt: String
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.payloadBase64 = payloadBase64
        self.error = error
        self.receivedAt = receivedAt
    }

    enum CodingKeys: String, CodingKey { case topic, partition, offset, key, payloadBase64, error, receivedAt }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(topic, forKey: .topic)
        try c.encode(partition, forKey: .partition)
        try c.encode(offset, forKey: .offset)
        try c.encode(key, forKey: .key)
        try c.encode(payloadBase64, forKey: .payloadBase64)
        try c.encode(error, forKey: .error)
        try c.encode(receivedAt, forKey: .receivedAt)
    }
}
