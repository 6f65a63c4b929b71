extension Migrations {
    /// Indexes on the app's billing tables, built outside the migration transaction by
    /// `Database.buildConcurrentIndexes` after the migrations commit (see `ConcurrentIndex`).
    /// Append only; each must stay valid for `CREATE INDEX CONCURRENTLY IF NOT EXISTS`.
    public static let concurrentIndexes: [ConcurrentIndex] = [
        // The user timeline's lookups (issue 18): audit rows and ledger rows by user, newest first,
        // and webhook records by their Stripe event id.
        ConcurrentIndex(
            name: "subscription_audit_user_id_idx",
            definition: "public.subscription_audit (user_id)"
        ),
        ConcurrentIndex(
            name: "credit_transactions_user_id_created_at_idx",
            definition: "public.credit_transactions (user_id, created_at)"
        ),
        ConcurrentIndex(
            name: "credit_transactions_stripe_event_id_idx",
            definition: "public.credit_transactions (stripe_event_id) WHERE stripe_event_id IS NOT NULL"
        ),
    ]

    /// Key of the session-level advisory lock that serializes concurrent index builders (one more
    /// than `advisoryLockKey`, so index builds never hold up another worker's migration transaction).
    public static let indexLockKey: Int64 = advisoryLockKey + 1
}
