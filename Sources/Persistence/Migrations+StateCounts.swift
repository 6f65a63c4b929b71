import CheckPipeline

extension Migrations {
    /// Migration 8: counts the report needs (users with a state, Stripe customers no user names)
    /// kept by triggers on `entity_state`, so that the report reads a few counter rows instead of
    /// scanning every state (a million users took about 300 ms per count).
    ///
    /// Counters are sharded by backend (`pg_backend_pid() % 256`) so that concurrent writers rarely
    /// wait on the same counter row; the report sums the shards. Inserts are counted once per
    /// statement from its transition table (the batch path inserts new keys in bulk); an update
    /// fires the row trigger only when a row changes category (an empty placeholder gaining its
    /// state, a customer gaining or losing its users), which the trigger's `WHEN` decides with
    /// built-in functions only, so ordinary state writes cost nothing extra.
    public static let stateCounts = Migration(
        version: 8,
        name: "entity state counts kept by triggers",
        statements: [
            """
            CREATE TABLE IF NOT EXISTS assurance.entity_state_counts (
                category text NOT NULL,
                shard integer NOT NULL,
                n bigint NOT NULL,
                PRIMARY KEY (category, shard)
            )
            """,
            """
            CREATE OR REPLACE FUNCTION assurance.entity_state_category(kind text, state bytea) RETURNS text
            LANGUAGE sql IMMUTABLE AS $$
              SELECT CASE
                WHEN kind = 'user' AND length(state) > 0 THEN 'user'
                WHEN kind = 'stripe_customer' AND length(state) > \(unmappedOffset)
                  AND get_byte(state, \(unmappedOffset)) = 0 THEN 'unmapped_stripe_customer'
              END
            $$
            """,
            """
            CREATE OR REPLACE FUNCTION assurance.count_entity_states_inserted() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO assurance.entity_state_counts (category, shard, n)
              SELECT c, pg_backend_pid() % 256, count(*)
              FROM (SELECT assurance.entity_state_category(kind, state) AS c FROM inserted) AS rows
              WHERE c IS NOT NULL GROUP BY c
              ON CONFLICT (category, shard) DO UPDATE SET n = assurance.entity_state_counts.n + EXCLUDED.n;
              RETURN NULL;
            END
            $$
            """,
            """
            CREATE OR REPLACE FUNCTION assurance.count_entity_states_deleted() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
              INSERT INTO assurance.entity_state_counts (category, shard, n)
              SELECT c, pg_backend_pid() % 256, -count(*)
              FROM (SELECT assurance.entity_state_category(kind, state) AS c FROM deleted) AS rows
              WHERE c IS NOT NULL GROUP BY c
              ON CONFLICT (category, shard) DO UPDATE SET n = assurance.entity_state_counts.n + EXCLUDED.n;
              RETURN NULL;
            END
            $$
            """,
            """
            CREATE OR REPLACE FUNCTION assurance.count_entity_state_recategorized() RETURNS trigger
            LANGUAGE plpgsql AS $$
            DECLARE
              before text := assurance.entity_state_category(OLD.kind, OLD.state);
              after text := assurance.entity_state_category(NEW.kind, NEW.state);
            BEGIN
              IF before IS NOT NULL THEN
                INSERT INTO assurance.entity_state_counts (category, shard, n) VALUES (before, pg_backend_pid() % 256, -1)
                ON CONFLICT (category, shard) DO UPDATE SET n = assurance.entity_state_counts.n - 1;
              END IF;
              IF after IS NOT NULL THEN
                INSERT INTO assurance.entity_state_counts (category, shard, n) VALUES (after, pg_backend_pid() % 256, 1)
                ON CONFLICT (category, shard) DO UPDATE SET n = assurance.entity_state_counts.n + 1;
              END IF;
              RETURN NULL;
            END
            $$
            """,
            "DROP TRIGGER IF EXISTS entity_state_counts_insert ON assurance.entity_state",
            """
            CREATE TRIGGER entity_state_counts_insert AFTER INSERT ON assurance.entity_state
            REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT
            EXECUTE FUNCTION assurance.count_entity_states_inserted()
            """,
            "DROP TRIGGER IF EXISTS entity_state_counts_delete ON assurance.entity_state",
            """
            CREATE TRIGGER entity_state_counts_delete AFTER DELETE ON assurance.entity_state
            REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT
            EXECUTE FUNCTION assurance.count_entity_states_deleted()
            """,
            "DROP TRIGGER IF EXISTS entity_state_counts_update ON assurance.entity_state",
            // Built-in functions only in WHEN: it runs for every updated row.
            """
            CREATE TRIGGER entity_state_counts_update AFTER UPDATE ON assurance.entity_state
            FOR EACH ROW WHEN (
              ((OLD.kind = 'user' AND length(OLD.state) > 0) IS DISTINCT FROM (NEW.kind = 'user' AND length(NEW.state) > 0))
              OR ((OLD.kind = 'stripe_customer' OR NEW.kind = 'stripe_customer')
                AND ((CASE WHEN length(OLD.state) > \(unmappedOffset) THEN get_byte(OLD.state, \(unmappedOffset)) = 0 ELSE false END)
                  IS DISTINCT FROM (CASE WHEN length(NEW.state) > \(unmappedOffset) THEN get_byte(NEW.state, \(unmappedOffset)) = 0 ELSE false END)))
            )
            EXECUTE FUNCTION assurance.count_entity_state_recategorized()
            """,
            // Creating the triggers locked out writers until this transaction ends: the counts
            // taken now match what the triggers go on from.
            "DELETE FROM assurance.entity_state_counts",
            """
            INSERT INTO assurance.entity_state_counts (category, shard, n)
            SELECT c, 0, count(*) FROM (
              SELECT assurance.entity_state_category(kind, state) AS c FROM assurance.entity_state
            ) AS rows WHERE c IS NOT NULL GROUP BY c
            """,
        ])

    /// The byte of a stored Stripe customer state that is 0 when no user names the customer.
    static var unmappedOffset: Int { EntityState.stripeCustomerUsersByteOffset }
}
