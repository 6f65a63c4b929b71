import Shared

extension IssuePipeline {
    /// The stale-subscription issue a user state would have under this pipeline's period, without
    /// changing anything: the report's `periodDays` asks "what if the period were N days".
    public func staleSubscriptionPreview(key: StateKey, state: EntityState, watermarkMs: Int64) -> [IssueChange] {
        guard case .user(let userId) = key, case .user(let user) = state, let account = user.account,
            account.tier.isPaid, let since = user.paidSinceMs
        else { return [] }
        let anchor = max(since, user.lastInvoiceGrantMs ?? since)
        guard watermarkMs > addClamped(anchor, settings.periodMs) else { return [] }
        let stale = StaleEvidence(tier: account.tier, paidSinceMs: since, lastInvoiceGrantMs: user.lastInvoiceGrantMs)
        return [
            IssueChange(
                issueId: CheckKind.stalePaidSubscription.issueId(userId), check: .stalePaidSubscription, userId: userId,
                kind: .open, title: IssueText.staleSubscription(tier: account.tier, periodDays: settings.periodDays),
                evidence: stale.json(periodDays: settings.periodDays), repair: nil, atMs: watermarkMs)
        ]
    }
}
