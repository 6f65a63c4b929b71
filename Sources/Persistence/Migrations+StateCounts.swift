extension Migrations {
    /// Migration 9: the report's counts over the entity states (`StateCountRepository`), kept by the
    /// workers as they write the states: one counter update per transaction that changes them, on a
    /// shard of its own (no triggers: migration 8's cost 12 % of throughput, see the README's Performance).
    ///
    /// Starts from a scan of the states already there. Workers of earlier versions write states without
    /// counting them: after a rolling upgrade, `assure-worker migrate --recount` once they are gone.
    public static let stateCounts = Migration(
        version: 9,
        name: "report counts kept by the state writers",
        statements: [
            // Migration 8 (counts kept by triggers on entity_state) was dropped from the binary; a
            // database that applied it still runs its triggers on every state write.
            "DROP TRIGGER IF EXISTS entity_state_counts_insert ON assurance.entity_state",
            "DROP TRIGGER IF EXISTS entity_state_counts_delete ON assurance.entity_state",
            "DROP TRIGGER IF EXISTS entity_state_counts_update ON assurance.entity_state",
            "DROP FUNCTION IF EXISTS assurance.count_entity_states_inserted()",
            "DROP FUNCTION IF EXISTS assurance.count_entity_states_deleted()",
            "DROP FUNCTION IF EXISTS assurance.count_entity_state_recategorized()",
            "DROP FUNCTION IF EXISTS assurance.entity_state_category(text, bytea)",
            "DROP TABLE IF EXISTS assurance.entity_state_counts",
            """
            CREATE TABLE IF NOT EXISTS assurance.state_counts (
                shard integer NOT NULL,
                name text NOT NULL,
                value bigint NOT NULL,
                PRIMARY KEY (shard, name)
            )
            """,
        ] + StateCountRepository.seedStatements
    )
}
