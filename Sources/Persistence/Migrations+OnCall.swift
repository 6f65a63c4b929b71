extension Migrations {
    /// Migration 7: the on-call workflow: every issue event kept with its cause (issue history),
    /// snoozes and the evidence operator actions were given on, and the indexes of the user timeline.
    public static let onCall = Migration(
        version: 7,
        name: "on-call: issue history, snoozes, user timeline",
        statements: [
            // Every event of every issue, in version order (`GET …/issues/{issueId}`).
            """
            CREATE TABLE IF NOT EXISTS assurance.issue_events (
                issue_id text NOT NULL,
                version bigint NOT NULL,
                event jsonb NOT NULL,
                PRIMARY KEY (issue_id, version)
            )
            """,
            // Issues from before: their latest event is all that is known of them.
            """
            INSERT INTO assurance.issue_events (issue_id, version, event)
            SELECT issue_id, version, event FROM assurance.issues ON CONFLICT DO NOTHING
            """,
            "ALTER TABLE assurance.issues ADD COLUMN IF NOT EXISTS snoozed_until timestamptz",
            // The evidence (atRisk credits, duplicate set size, severity) an operator action was given on.
            "ALTER TABLE assurance.issues ADD COLUMN IF NOT EXISTS action_basis jsonb",
            """
            CREATE INDEX IF NOT EXISTS issues_snoozed_until_idx ON assurance.issues (snoozed_until)
                WHERE snoozed_until IS NOT NULL
            """,
            "CREATE INDEX IF NOT EXISTS issues_user_id_idx ON assurance.issues (user_id)",
            "CREATE INDEX IF NOT EXISTS processed_commands_issue_id_idx ON assurance.processed_commands (issue_id)",
            // The timeline's indexes on the billing tables are built after this transaction, concurrently
            // (`Migrations.concurrentIndexes`): inside it they would block the app's writes. Databases
            // that applied an earlier form of this migration already have them, under the same names.
        ]
    )
}
