import Shared

/// An issue as the reducer folds over it: its latest event and the evidence its operator action
/// (if any) was given on.
public struct IssueState: Sendable, Hashable {
    public var event: IssueEvent
    public var basis: ActionBasis?

    public init(event: IssueEvent, basis: ActionBasis? = nil) {
        self.event = event
        self.basis = basis
    }
}

/// The one place that decides an issue's next event (version, status, timestamps, operator actions),
/// for the worker's batches, the sweeper, input health, repairs and operator actions, and the test driver.
/// Pure: the worker's `IssueRepository` only locks, loads and stores around it.
public enum IssueReducer {
    /// The state a change yields after the issue's latest event (and the basis of its operator
    /// action, if any), or `nil` when nothing changes.
    public static func next(after previous: IssueEvent?, basis: ActionBasis?, for change: IssueChange) -> IssueState? {
        let at = Timestamp.format(change.atMs)
        let version = (previous?.version ?? 0) + 1
        let isOpen = previous?.status == .open
        func next(_ event: IssueEvent) -> IssueEvent {
            var event = event
            event.version = version
            event.cause = change.cause
            event.resurfaced = false
            return event
        }
        switch change.kind {
        case .open, .update:
            if let previous, isOpen {
                // The user stays unless the change names another: the pipeline names the user as it
                // stands now (an invoice moves to the smallest user naming its customer, evidence unchanged).
                let userId = change.userId ?? previous.userId
                guard previous.evidence != change.evidence || previous.title != change.title || previous.userId != userId
                else { return nil }
                var event = next(previous)
                event.userId = userId
                event.title = change.title
                event.evidence = change.evidence
                event.repair = change.repair
                event.lastSeenAt = at
                event.atRisk = change.atRisk
                var basis = basis
                if event.hasOperatorAction, (basis ?? ActionBasis(of: previous)).isWorsened(by: event) {
                    // The evidence the action was given on no longer holds: withdraw it.
                    event.explanation = nil
                    event.acknowledgement = nil
                    event.snoozedUntil = nil
                    event.resurfaced = true
                    basis = nil
                }
                return IssueState(event: event, basis: basis)
            }
            // New, or reopened: it continues its versions with a new `firstSeenAt` and no operator action.
            return IssueState(
                event: IssueEvent(
                    issueId: change.issueId, version: version, status: .open, check: change.check,
                    userId: change.userId, title: change.title, evidence: change.evidence, repair: change.repair,
                    firstSeenAt: at, lastSeenAt: at, atRisk: change.atRisk, cause: change.cause))
        case .resolve(let resolution):
            guard let previous, isOpen else { return nil }
            var event = next(previous)
            event.status = .resolved
            event.lastSeenAt = at
            event.resolvedAt = at
            event.resolution = resolution
            return IssueState(event: event)
        case .explain(let explanation):
            guard let previous, isOpen else { return nil }
            var event = withoutAction(next(previous))
            event.explanation = explanation
            return IssueState(event: event, basis: ActionBasis(of: previous))
        case .acknowledge(let acknowledgement):
            guard let previous, isOpen else { return nil }
            var event = withoutAction(next(previous))
            event.acknowledgement = acknowledgement
            return IssueState(event: event, basis: ActionBasis(of: previous))
        case .snooze(let until):
            guard let previous, isOpen else { return nil }
            var event = withoutAction(next(previous))
            event.snoozedUntil = until
            return IssueState(event: event, basis: ActionBasis(of: previous))
        case .snoozeEnded:
            guard let previous, isOpen, previous.snoozedUntil != nil else { return nil }
            var event = next(previous)
            event.snoozedUntil = nil
            return IssueState(event: event, basis: event.hasOperatorAction ? basis : nil)
        }
    }

    /// Applies changes in order to `issues` (by issue id) and returns the events they produce
    /// (none for no-op changes); `issues` ends with each issue's latest state.
    public static func apply(_ changes: [IssueChange], to issues: inout [String: IssueState]) -> [IssueEvent] {
        var events: [IssueEvent] = []
        for change in changes {
            let previous = issues[change.issueId]
            guard let next = next(after: previous?.event, basis: previous?.basis, for: change) else { continue }
            issues[change.issueId] = next
            events.append(next.event)
        }
        return events
    }

    /// An issue carries at most one operator action: a new one replaces the previous one.
    private static func withoutAction(_ event: IssueEvent) -> IssueEvent {
        var event = event
        event.explanation = nil
        event.acknowledgement = nil
        event.snoozedUntil = nil
        return event
    }
}
