import Foundation
import Shared

/// The lines of `assure-worker watch`: one per issue event, alert or repair result, filtered by
/// user, check and severity (each exact), as readable text or JSON.
///
/// Alerts and repair results carry no user or check of their own: they pass a filter through the
/// issues they name, as known from the issue events seen so far (or, for an issue not seen yet,
/// from its id's check).
public struct WatchPrinter: Sendable {
    public struct Filter: Sendable, Hashable {
        public var userId: String?
        public var check: CheckKind?
        public var severity: Severity?

        public init(userId: String? = nil, check: CheckKind? = nil, severity: Severity? = nil) {
            self.userId = userId
            self.check = check
            self.severity = severity
        }

        var isEmpty: Bool { userId == nil && check == nil && severity == nil }
    }

    public let topics: Topics
    public let filter: Filter
    public let json: Bool
    /// The user of each issue seen so far.
    private var users: [String: String?] = [:]

    public init(topics: Topics, filter: Filter, json: Bool) {
        self.topics = topics
        self.filter = filter
        self.json = json
    }

    /// The line for one message, or nil when the filter leaves it out (or it cannot be read).
    public mutating func line(topic: String, value: [UInt8]) -> String? {
        let decoder = JSONDecoder()
        let kind: String
        let text: String
        switch topic {
        case topics.issues:
            guard let event = try? decoder.decode(IssueEvent.self, from: Data(value)) else { return nil }
            users[event.issueId] = event.userId
            guard matches(issueId: event.issueId, userId: event.userId, check: event.check) else { return nil }
            kind = "issue"
            text = Self.describe(event)
        case topics.alerts:
            guard let alert = try? decoder.decode(AlertEvent.self, from: Data(value)) else { return nil }
            guard filter.isEmpty || alert.issueIds.contains(where: { matches(issueId: $0) }) else { return nil }
            kind = "alert"
            text = "\(alert.emittedAt) alert \(alert.severity.rawValue) issues=\(alert.issueCount) atRisk=\(alert.atRiskCredits) \(alert.summary)"
        case topics.repairs:
            guard let result = try? decoder.decode(RepairResult.self, from: Data(value)) else { return nil }
            guard filter.isEmpty || matches(issueId: result.issueId) else { return nil }
            kind = "repair"
            let rejection: String = result.rejection.map { " \($0.rawValue)" } ?? ""
            let detail: String = result.detail.map { ": \($0)" } ?? ""
            text =
                "\(result.processedAt) repair \(result.commandId) \(result.issueId) \(result.outcome.rawValue)"
                + rejection + detail
        default:
            return nil
        }
        guard json else { return text }
        let event = String(decoding: value, as: UTF8.self)
        let encodedTopic: Data = (try? JSONEncoder().encode(topic)) ?? Data("\"\"".utf8)
        let topicJSON = String(decoding: encodedTopic, as: UTF8.self)
        // The message itself, as published, wrapped with where it came from; one line.
        return "{\"kind\":\"\(kind)\",\"topic\":\(topicJSON),\"event\":\(event.replacingOccurrences(of: "\n", with: " "))}"
    }

    private func matches(issueId: String, userId: String?? = nil, check: CheckKind? = nil) -> Bool {
        guard let kind = check ?? CheckKind.of(issueId: issueId) else { return filter.isEmpty }
        if let wanted = filter.check, wanted != kind { return false }
        if let wanted = filter.severity, wanted != kind.severity { return false }
        if let wanted = filter.userId {
            guard let user = userId ?? users[issueId] ?? Self.user(inIssueId: issueId, check: kind), user == wanted
            else { return false }
        }
        return true
    }

    /// The user a per-user issue id names (`credit-balance:<userId>`, `ledger-gap:<userId>:<seq>`),
    /// for results and alerts that arrive before any event of their issue.
    static func user(inIssueId issueId: String, check: CheckKind) -> String? {
        guard let colon = issueId.firstIndex(of: ":") else { return nil }
        let rest = issueId[issueId.index(after: colon)...]
        switch check {
        case .creditBalanceMismatch, .paidTierWithoutCustomer, .stalePaidSubscription, .tierSubscriptionMismatch,
            .nonAdminUnlimitedCredits:
            return String(rest)
        case .ledgerSequenceGap, .ledgerArithmeticBreak:
            return rest.lastIndex(of: ":").map { String(rest[..<$0]) }
        default:
            return nil
        }
    }

    /// One readable line of an issue event.
    static func describe(_ event: IssueEvent) -> String {
        var flags: [String] = []
        if event.explanation != nil { flags.append("explained") }
        if event.acknowledgement != nil { flags.append("acknowledged") }
        if let until = event.snoozedUntil { flags.append("snoozed until \(until)") }
        if event.resurfaced { flags.append("RESURFACED") }
        let at = event.resolvedAt ?? event.lastSeenAt
        let direction = event.atRisk.direction.rawValue
        let risk: String = event.atRisk.credits.map { "\($0) (\(direction))" } ?? "-"
        let resolution: String = event.resolution.map { "/\($0.rawValue)" } ?? ""
        let flagText: String = flags.isEmpty ? "" : " [\(flags.joined(separator: ", "))]"
        let user: String = event.userId ?? "-"
        var line = "\(at) issue \(event.issueId) v\(event.version) \(event.status.rawValue)\(resolution)"
        line += " \(event.severity.rawValue) \(event.check.rawValue) user=\(user) atRisk=\(risk)"
        line += "\(flagText) \(event.title)"
        return line
    }
}
