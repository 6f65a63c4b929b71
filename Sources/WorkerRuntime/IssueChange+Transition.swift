import CheckPipeline
import Persistence
import Shared

extension IssueChange {
    /// The issue store's view of a pipeline transition.
    init(_ transition: IssueTransition) {
        let kind: IssueChange.Kind =
            switch transition.kind {
            case .open, .update: .open
            case .resolve: .resolve(.selfHealed)
            }
        self.init(
            issueId: transition.issueId, check: transition.check, userId: transition.userId, kind: kind,
            title: transition.title, evidence: transition.evidence, repair: transition.repair, atMs: transition.atMs)
    }
}
