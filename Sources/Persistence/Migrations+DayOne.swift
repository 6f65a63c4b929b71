extension Migrations {
    /// Migration 5: input health (when each input last delivered, cluster-wide, and what waits on
    /// it) and the record of bootstrap runs.
    public static let dayOne = Migration(
        version: 5,
        name: "input health and bootstrap runs",
        statements: [
            """
            CREATE TABLE IF NOT EXISTS assurance.input_health (
                -- The input's short name: ledger, accounts or webhooks.
                input text PRIMARY KEY,
                -- Wall time (ms) a record of the input was last delivered to a worker.
                last_delivered_ms bigint,
                -- Recent silences longer than the threshold: delivered at silence_from[i], then
                -- nothing until silence_to[i] (oldest first, a bounded number).
                silence_from bigint[] NOT NULL DEFAULT '{}',
                silence_to bigint[] NOT NULL DEFAULT '{}',
                -- Earliest apply time of a record waiting on this input since its last delivery.
                waiting_since_ms bigint,
                -- Whether input-stalled:<input> is open.
                stall_open boolean NOT NULL DEFAULT false
            )
            """,
            """
            INSERT INTO assurance.input_health (input) VALUES ('ledger'), ('accounts'), ('webhooks')
            ON CONFLICT (input) DO NOTHING
            """,
            """
            CREATE TABLE IF NOT EXISTS assurance.bootstrap_runs (
                id bigserial PRIMARY KEY,
                started_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz,
                -- Rows read from the snapshot, and of them the ones applied (not counted before).
                rows_read bigint NOT NULL DEFAULT 0,
                users_applied bigint NOT NULL DEFAULT 0,
                ledger_applied bigint NOT NULL DEFAULT 0,
                webhooks_applied bigint NOT NULL DEFAULT 0
            )
            """,
        ]
    )
}
