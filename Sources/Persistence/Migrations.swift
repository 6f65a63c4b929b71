/// The schema, as an ordered list of migrations. Append new ones; never edit an applied one.
public enum Migrations {
    /// Every migration of this binary, in version order.
    public static let all: [Migration] = [
        billingReferenceTables, assuranceSchema, entityStateVersions, hardening, dayOne, stripeEvents, onCall,
        stateCounts,
    ]

    /// The schema holding the worker's own tables.
    public static let assuranceSchemaName = "assurance"

    /// Key of the transaction-level advisory lock that serializes concurrent migrators
    /// (the bytes of "assure" as an integer).
    public static let advisoryLockKey: Int64 = 0x61_73_73_75_72_65

    /// Migration 1: the app's billing tables, exactly as the contract lists them, for
    /// development and tests (`IF NOT EXISTS`: an existing app schema is left alone).
    public static let billingReferenceTables = Migration(
        version: 1,
        name: "billing reference tables",
        statements: [
            """
            CREATE TABLE IF NOT EXISTS public.users (
                id text PRIMARY KEY,
                role text,
                tier text,
                credits bigint,
                unlimited_credits boolean,
                stripe_customer_id text,
                stripe_subscription_id text,
                subscription_status text,
                updated_at timestamptz,
                version bigint
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS public.credit_transactions (
                id text PRIMARY KEY,
                user_id text,
                seq bigint,
                type text,
                amount bigint,
                balance_after bigint,
                stripe_event_id text,
                stripe_payment_intent_id text,
                stripe_invoice_id text,
                reason text,
                actor text,
                command_id text,
                created_at timestamptz
            )
            """,
            // Repairs append the "next seq"; two racing repairs must not both get it (they also lock
            // the user's row). Built only on a table that is still empty (created just now): on the
            // app's live table an index build inside this transaction would block its writes, and
            // duplicate rows already there would stop every worker from starting.
            """
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM public.credit_transactions LIMIT 1) THEN
                    CREATE UNIQUE INDEX IF NOT EXISTS credit_transactions_user_id_seq_key
                        ON public.credit_transactions (user_id, seq);
                END IF;
            END
            $$
            """,
            """
            CREATE TABLE IF NOT EXISTS public.subscription_audit (
                id text PRIMARY KEY,
                user_id text,
                from_tier text,
                to_tier text,
                reason text,
                actor text,
                command_id text,
                created_at timestamptz
            )
            """,
            """
            CREATE TABLE IF NOT EXISTS public.stripe_webhook_events (
                event_id text PRIMARY KEY,
                type text,
                stripe_payment_intent_id text,
                stripe_invoice_id text,
                processed_at timestamptz,
                source text
            )
            """,
        ]
    )

    /// Migration 2: the worker's own state in schema `assurance`.
    public static let assuranceSchema = Migration(
        version: 2,
        name: "assurance worker state",
        statements: [
            // Committed consumer positions, written in the same transaction as the state they produced.
            """
            CREATE TABLE IF NOT EXISTS assurance.consumer_offsets (
                group_id text NOT NULL,
                topic text NOT NULL,
                partition int NOT NULL,
                next_offset bigint NOT NULL,
                updated_at timestamptz DEFAULT now(),
                -- The newest event time seen on the partition; the cluster's watermark is the maximum.
                max_event_ms bigint,
                -- Records that changed state, went to the dead-letter topic, or were skipped (report counts).
                applied bigint NOT NULL DEFAULT 0,
                dead_letters bigint NOT NULL DEFAULT 0,
                skipped bigint NOT NULL DEFAULT 0,
                PRIMARY KEY (group_id, topic, partition)
            )
            """,
            // Per-entity check state (user, ledger key, gate, …), serialized by CheckPipeline.
            """
            CREATE TABLE IF NOT EXISTS assurance.entity_state (
                key text PRIMARY KEY,
                kind text NOT NULL,
                state bytea NOT NULL,
                settle_deadline_ms bigint,
                stale_at_event_ms bigint,
                updated_at timestamptz DEFAULT now()
            )
            """,
            """
            CREATE INDEX IF NOT EXISTS entity_state_settle_deadline_idx
                ON assurance.entity_state (settle_deadline_ms) WHERE settle_deadline_ms IS NOT NULL
            """,
            """
            CREATE INDEX IF NOT EXISTS entity_state_stale_at_idx
                ON assurance.entity_state (stale_at_event_ms) WHERE stale_at_event_ms IS NOT NULL
            """,
            // The current state of every issue; `event` is the last issue event published.
            """
            CREATE TABLE IF NOT EXISTS assurance.issues (
                issue_id text PRIMARY KEY,
                version bigint NOT NULL,
                status text NOT NULL,
                check_name text,
                category text,
                severity text,
                user_id text,
                revenue_impacting boolean,
                repair_action text,
                title text,
                evidence jsonb,
                event jsonb NOT NULL,
                explanation jsonb,
                first_seen_at timestamptz,
                last_seen_at timestamptz,
                resolved_at timestamptz,
                resolution text
            )
            """,
            "CREATE INDEX IF NOT EXISTS issues_status_idx ON assurance.issues (status)",
            // Transactional outbox: rows written with the state change, relayed to Kafka, then marked sent.
            """
            CREATE TABLE IF NOT EXISTS assurance.outbox (
                id bigserial PRIMARY KEY,
                topic text NOT NULL,
                key text,
                payload bytea NOT NULL,
                created_at timestamptz DEFAULT now(),
                sent_at timestamptz,
                -- Set when the cluster refused the row for good (e.g. too large); such rows are not retried.
                refused_error text
            )
            """,
            "CREATE INDEX IF NOT EXISTS outbox_unsent_idx ON assurance.outbox (id) WHERE sent_at IS NULL",
            // Repair commands seen, with their first result (for the `duplicate` outcome).
            """
            CREATE TABLE IF NOT EXISTS assurance.processed_commands (
                command_id text PRIMARY KEY,
                issue_id text,
                result jsonb NOT NULL,
                processed_at timestamptz DEFAULT now(),
                actor text,
                reason text
            )
            """,
            // The alert policy's state (group wait, dedup windows, suppressions): one row, id 1,
            // locked while a worker evaluates.
            """
            CREATE TABLE IF NOT EXISTS assurance.alert_policy_state (
                id int PRIMARY KEY,
                state jsonb NOT NULL
            )
            """,
        ]
    )

    /// Migration 3: a version per entity state row, so a worker can keep states in memory and write
    /// them back only if nobody changed them since (optimistic concurrency, see `EntityStateRepository`).
    public static let entityStateVersions = Migration(
        version: 3,
        name: "entity state versions",
        statements: [
            "ALTER TABLE assurance.entity_state ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 0",
            // The rows of many keys by index, also outside a transaction that set `enable_seqscan`.
            """
            CREATE OR REPLACE FUNCTION assurance.load_entity_states(keys text[])
            RETURNS TABLE (key text, kind text, state bytea, settle_deadline_ms bigint, stale_at_event_ms bigint,
                           version bigint)
            LANGUAGE sql STABLE SET enable_seqscan = off
            AS $$
                SELECT e.key, e.kind, e.state, e.settle_deadline_ms, e.stale_at_event_ms, e.version
                FROM assurance.entity_state e WHERE e.key = ANY(keys)
            $$
            """,
            // Updates of the rows whose version is still the one read, joined by key: one index
            // lookup per row, never a scan of the whole table (whatever the table statistics say).
            """
            CREATE OR REPLACE FUNCTION assurance.update_entity_states(
                keys text[], kinds text[], states bytea[], settle bigint[], stale bigint[], versions bigint[]
            ) RETURNS bigint LANGUAGE sql
            SET enable_hashjoin = off SET enable_mergejoin = off SET enable_seqscan = off
            AS $$
                WITH changed AS (
                    UPDATE assurance.entity_state AS t
                    SET state = u.s, kind = u.c, settle_deadline_ms = NULLIF(u.d, -1),
                        stale_at_event_ms = NULLIF(u.e, -9223372036854775808), version = t.version + 1,
                        updated_at = now()
                    FROM unnest(keys, kinds, states, settle, stale, versions) AS u(k, c, s, d, e, v)
                    WHERE t.key = u.k AND t.version = u.v
                    RETURNING 1
                )
                SELECT count(*) FROM changed
            $$
            """,
        ]
    )

    /// Migration 4: the outbox keeps keys byte for byte (binary keys of dead letters) and retries rows
    /// the broker refused, with backoff, instead of setting them aside.
    public static let hardening = Migration(
        version: 4,
        name: "outbox key bytes and refused-row retries",
        statements: [
            "ALTER TABLE assurance.outbox ADD COLUMN IF NOT EXISTS key_bytes bytea",
            "ALTER TABLE assurance.outbox ADD COLUMN IF NOT EXISTS attempts int NOT NULL DEFAULT 0",
            "ALTER TABLE assurance.outbox ADD COLUMN IF NOT EXISTS next_attempt_at timestamptz",
            "ALTER TABLE assurance.outbox ADD COLUMN IF NOT EXISTS refused_since timestamptz",
            // The few rows waiting out a refusal, to hold back later rows of their key.
            """
            CREATE INDEX IF NOT EXISTS outbox_refused_idx ON assurance.outbox (topic, key_bytes, id)
                WHERE sent_at IS NULL AND refused_since IS NOT NULL
            """,
        ]
    )
}
