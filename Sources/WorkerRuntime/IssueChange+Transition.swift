import CheckPipeline
import Persistence
import Shared

extension IssueChange {
    /// The issue store's view of a pipeline transition, with what caused it.
    init(_ transition: IssueTransition, cause: IssueCause) {
        let kind: IssueChange.Kind =
            switch transition.kind {
            case .open, .update: .open
            case .resolve: .resolve(.selfHealed)
            }
        self.init(
            issueId: transition.issueId, check: transition.check, userId: transition.userId, kind: kind,
            title: transition.title, evidence: transition.evidence, repair: transition.repair, atMs: transition.atMs,
            atRisk: transition.atRisk, cause: cause)
    }
}
