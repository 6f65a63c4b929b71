#!/usr/bin/env bash
# Measures `assure-worker bootstrap` against a throwaway, durable PostgreSQL 15 (fsync on).
# Usage: scripts/bootstrap-benchmark.sh [users] [rows-per-user] [debug|release]
# ASSURE_BENCH_BIN=/path/to/assure-worker measures that binary instead of .build/<config>/assure-worker.
# The billing tables get USERS users with ROWS ledger rows each (every third row with a Stripe event
# id whose webhook record exists); the summary line of `bootstrap` reports rows/s.
set -euo pipefail
USERS=${1:-50000}
ROWS=${2:-18}
CONFIG=${3:-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ASSURE_BENCH_BIN:-"$ROOT/.build/$CONFIG/assure-worker"}
[ -x "$BIN" ] || { echo "build first: swift build -c $CONFIG" >&2; exit 1; }
PGBIN=$(pg_config --bindir)
DIR=$(mktemp -d /tmp/assure-bootstrap-bench.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
chown postgres "$DIR" 2>/dev/null || true
runuser -u postgres -- "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB" >/dev/null
trap 'runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null; rm -rf "$DIR"' EXIT
export ASSURE_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
export ASSURE_LOG_LEVEL=warning
"$BIN" migrate >/dev/null
psql -q "$ASSURE_DATABASE_URL" <<SQL
INSERT INTO users (id, role, tier, credits, unlimited_credits, stripe_customer_id, subscription_status, updated_at, version)
SELECT 'u' || u, 'USER', 'FREE', $ROWS * 10, false, 'cus_' || u, NULL, now(), 1 FROM generate_series(1, $USERS) u;
INSERT INTO credit_transactions (id, user_id, seq, type, amount, balance_after, stripe_event_id, created_at)
SELECT 'r' || u || '_' || s, 'u' || u, s, 'ADJUSTMENT', 10, s * 10,
  CASE WHEN s % 3 = 0 THEN 'evt_' || u || '_' || s END, now() - (($ROWS - s) || ' hours')::interval
FROM generate_series(1, $USERS) u, generate_series(1, $ROWS) s;
INSERT INTO stripe_webhook_events (event_id, type, processed_at, source)
SELECT stripe_event_id, 'invoice.paid', now(), 'stripe' FROM credit_transactions WHERE stripe_event_id IS NOT NULL;
ANALYZE;
SQL
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" bootstrap 2>&1 | tail -1
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
