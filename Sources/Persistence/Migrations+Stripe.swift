extension Migrations {
    /// Migration 6: every Stripe event the checks applied, for the user timeline and the audit.
    public static let stripeEvents = Migration(
        version: 6,
        name: "stripe events",
        statements: [
            """
            CREATE TABLE IF NOT EXISTS assurance.stripe_events (
                customer_id text NOT NULL,
                event_id text NOT NULL,
                type text NOT NULL,
                created_at timestamptz NOT NULL,
                object_id text NOT NULL,
                status text,
                subscription_id text,
                billing_reason text,
                amount_paid bigint,
                currency text,
                applied_at timestamptz NOT NULL DEFAULT now(),
                seq bigserial,
                PRIMARY KEY (customer_id, event_id)
            )
            """,
            "CREATE INDEX IF NOT EXISTS stripe_events_customer_created ON assurance.stripe_events (customer_id, created_at)",
        ]
    )
}
