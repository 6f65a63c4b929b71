import Crypto
import Shared

/// Alertmanager-style grouping and deduplication of alert-worthy issue sets, as a pure state machine.
///
/// The cluster keeps one `State` in PostgreSQL, locked while a worker evaluates, so however many
/// workers evaluate, one set yields at most one alert per dedup window.
public struct AlertPolicy: Sendable {
    /// What the cluster remembers between evaluations.
    public struct State: Sendable, Hashable, Codable {
        /// The fingerprint of the last alerted set.
        public var lastAlertedFingerprint: String?
        /// When the last alerted set's dedup window ends.
        public var lastAlertWindowExpiresMs: Int64?
        /// When the first change not yet alerted was seen.
        public var pendingSinceMs: Int64?
        /// Evaluations of the last alerted set that were suppressed inside its window.
        public var suppressedSinceLastAlert: Int64
        /// Window ends of sets alerted earlier, so a set returning inside its window stays quiet.
        public var windows: [String: Int64]

        public init(
            lastAlertedFingerprint: String? = nil, lastAlertWindowExpiresMs: Int64? = nil, pendingSinceMs: Int64? = nil,
            suppressedSinceLastAlert: Int64 = 0, windows: [String: Int64] = [:]
        ) {
            self.lastAlertedFingerprint = lastAlertedFingerprint
            self.lastAlertWindowExpiresMs = lastAlertWindowExpiresMs
            self.pendingSinceMs = pendingSinceMs
            self.suppressedSinceLastAlert = suppressedSinceLastAlert
            self.windows = windows
        }
    }

    /// The outcome of one evaluation.
    public enum Decision: Sendable, Hashable {
        case none
        case waiting
        case suppressed
        case alert(AlertEvent)
    }

    public var dedupWindowMs: Int64
    public var groupWaitMs: Int64

    public init(dedupWindowSeconds: Int64, groupWaitMs: Int64) {
        self.dedupWindowMs = dedupWindowSeconds * 1000
        self.groupWaitMs = groupWaitMs
    }

    /// SHA-256 hex of the sorted issue ids joined by `\n`.
    public static func fingerprint(of issueIds: [String]) -> String {
        let text = issueIds.sorted().joined(separator: "\n")
        return SHA256.hash(data: Array(text.utf8)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }

    /// The alert-worthy issues among the open ones: revenue-impacting, error or critical, without an
    /// operator action (explained, acknowledged or snoozed).
    public static func alertWorthy(_ issues: [IssueEvent]) -> [IssueEvent] {
        issues.filter(AssuranceReport.isAlertWorthy)
    }

    /// Evaluates the current alert-worthy set at `nowMs`, updating `state`.
    public func evaluate(_ issues: [IssueEvent], nowMs: Int64, state: inout State, alertId: () -> String) -> Decision {
        state.windows = state.windows.filter { $0.value > nowMs }
        guard !issues.isEmpty else {
            state.pendingSinceMs = nil
            return .none
        }
        let ids = issues.map(\.issueId).sorted()
        let fingerprint = Self.fingerprint(of: ids)
        if fingerprint == state.lastAlertedFingerprint {
            state.pendingSinceMs = nil
            if let expires = state.lastAlertWindowExpiresMs, expires > nowMs {
                state.suppressedSinceLastAlert += 1
                return .suppressed
            }
            return .alert(emit(issues, ids: ids, fingerprint: fingerprint, nowMs: nowMs, state: &state, alertId: alertId))
        }
        let pendingSince = state.pendingSinceMs ?? nowMs
        state.pendingSinceMs = pendingSince
        guard nowMs - pendingSince >= groupWaitMs else { return .waiting }
        if let expires = state.windows[fingerprint], expires > nowMs {
            // The set came back to one alerted inside its window: it is that alert's set again.
            state.lastAlertedFingerprint = fingerprint
            state.lastAlertWindowExpiresMs = expires
            state.pendingSinceMs = nil
            state.suppressedSinceLastAlert += 1
            return .suppressed
        }
        return .alert(emit(issues, ids: ids, fingerprint: fingerprint, nowMs: nowMs, state: &state, alertId: alertId))
    }

    private func emit(
        _ issues: [IssueEvent], ids: [String], fingerprint: String, nowMs: Int64, state: inout State,
        alertId: () -> String
    ) -> AlertEvent {
        let severity = issues.map(\.severity).max() ?? .error
        let expires = nowMs + dedupWindowMs
        // At most `maxListedIssueIds`, the highest severity first, then by id; the count and the
        // fingerprint stay over the full set.
        let listed = issues.sorted { ($1.severity, $0.issueId) < ($0.severity, $1.issueId) }
            .prefix(AlertEvent.maxListedIssueIds).map(\.issueId)
        var event = AlertEvent(
            alertId: alertId(), fingerprint: fingerprint, severity: severity, issueIds: Array(listed),
            summary: Self.summary(issues, severity: severity), emittedAt: Timestamp.format(nowMs),
            dedupWindowSeconds: dedupWindowMs / 1000, windowExpiresAt: Timestamp.format(expires),
            suppressedSinceLastAlert: state.suppressedSinceLastAlert)
        event.issueCount = ids.count
        event.issueIdsTruncated = ids.count > listed.count
        event.atRiskCredits = AssuranceReport.sumCredits(issues.map(\.atRisk))
        state.lastAlertedFingerprint = fingerprint
        state.lastAlertWindowExpiresMs = expires
        state.pendingSinceMs = nil
        state.suppressedSinceLastAlert = 0
        state.windows[fingerprint] = expires
        return event
    }

    /// One line an on-call engineer can act on: counts by check, the worst first, and where to look.
    static func summary(_ issues: [IssueEvent], severity: Severity) -> String {
        var byCheck: [CheckKind: Int] = [:]
        for issue in issues { byCheck[issue.check, default: 0] += 1 }
        let parts = byCheck.sorted {
            ($0.key.severity, $0.value, $1.key.rawValue) > ($1.key.severity, $1.value, $0.key.rawValue)
        }.map { "\($0.value) \($0.key.rawValue)" }
        let repairable = issues.filter { $0.repair != nil }.count
        // A stalled input is in the set without being revenue-impacting.
        let noun = issues.contains { $0.check == .inputStalled } ? "assurance issue" : "revenue-impacting billing issue"
        return "\(issues.count) \(noun)\(issues.count == 1 ? "" : "s") open (\(severity.rawValue)): "
            + parts.joined(separator: ", ")
            + "; \(repairable) repairable. Triage with GET /api/admin/billing-assurance."
    }
}
