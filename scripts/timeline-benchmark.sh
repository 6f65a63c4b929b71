#!/usr/bin/env bash
# Measures `GET /api/admin/billing-assurance/users/{userId}/timeline` against a throwaway, durable
# PostgreSQL 15 (fsync on), served by a real `assure-worker run` (topics on `kafka-dev`'s mock cluster).
# Usage: scripts/timeline-benchmark.sh [requests] [rounds] [debug|release]   (default 500 3 release)
# ASSURE_BENCH_BIN=/path/to/assure-worker measures that binary instead of .build/<config>/assure-worker.
#
# One user (`u_timeline`) gets 10 000 ledger rows (every third with a Stripe event id and its webhook
# record), 20 subscription_audit rows, 50 issues with 4 events each, 20 command results and 500
# Stripe events of its customer. 10 000 background users get 10 ledger rows each (100 000 rows), their
# webhook records, 5 000 issues with 2 events each and 20 000 Stripe events, so the indexes matter.
# Each round times REQUESTS requests with the default limit (200) and REQUESTS with limit=1000, one
# keep-alive connection (curl's own `time_total`, process start excluded), and prints p50/p99/max in
# ms with the load average. The last line is the median over the rounds.
set -euo pipefail
REQUESTS=${1:-500}
ROUNDS=${2:-3}
CONFIG=${3:-release}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${ASSURE_BENCH_BIN:-"$ROOT/.build/$CONFIG/assure-worker"}
[ -x "$BIN" ] || { echo "build first: swift build -c $CONFIG --product assure-worker" >&2; exit 1; }
PGBIN=$(pg_config --bindir)
DIR=$(mktemp -d /tmp/assure-timeline-bench.XXXXXX)
chmod 755 "$DIR"
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
PORT=$(freeport)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
}
trap cleanup EXIT
waitfor() { # waitfor SECONDS CMD...
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do (( SECONDS > end )) && return 1; sleep 0.3; done
}
chown postgres "$DIR" 2>/dev/null || true
runuser -u postgres -- "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start \
  -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB" >/dev/null
export ASSURE_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres?sslmode=disable"
export ASSURE_LOG_LEVEL=warning
"$BIN" migrate >/dev/null

echo "filling the tables …" >&2
psql -q -v ON_ERROR_STOP=1 "$ASSURE_DATABASE_URL" <<'SQL'
-- The user under test and its customer.
INSERT INTO users (id, role, tier, credits, unlimited_credits, stripe_customer_id, stripe_subscription_id,
  subscription_status, updated_at, version)
VALUES ('u_timeline', 'USER', 'PRO', 100000, false, 'cus_timeline', 'sub_timeline', 'active', now(), 7);
INSERT INTO credit_transactions (id, user_id, seq, type, amount, balance_after, stripe_event_id,
  stripe_payment_intent_id, created_at)
SELECT 'ct_' || s, 'u_timeline', s, CASE WHEN s % 3 = 0 THEN 'PURCHASE' ELSE 'USAGE' END,
  CASE WHEN s % 3 = 0 THEN 30 ELSE -10 END, 10 * s / 3,
  CASE WHEN s % 3 = 0 THEN 'evt_t_' || s END, CASE WHEN s % 3 = 0 THEN 'pi_t_' || s END,
  now() - ((10000 - s) || ' minutes')::interval
FROM generate_series(1, 10000) s;
INSERT INTO subscription_audit (id, user_id, from_tier, to_tier, reason, actor, created_at)
SELECT 'sa_' || s, 'u_timeline', 'FREE', 'PRO', 'upgrade', 'billing', now() - (s || ' days')::interval
FROM generate_series(1, 20) s;
-- Background: 10 000 users with 10 rows each.
INSERT INTO users (id, role, tier, credits, unlimited_credits, stripe_customer_id, updated_at, version)
SELECT 'u' || u, 'USER', 'FREE', 100, false, 'cus_' || u, now(), 1 FROM generate_series(1, 10000) u;
INSERT INTO credit_transactions (id, user_id, seq, type, amount, balance_after, stripe_event_id, created_at)
SELECT 'r' || u || '_' || s, 'u' || u, s, 'ADJUSTMENT', 10, s * 10,
  CASE WHEN s % 3 = 0 THEN 'evt_' || u || '_' || s END, now() - ((10 - s) || ' hours')::interval
FROM generate_series(1, 10000) u, generate_series(1, 10) s;
INSERT INTO stripe_webhook_events (event_id, type, stripe_payment_intent_id, processed_at, source)
SELECT stripe_event_id, 'payment_intent.succeeded', stripe_payment_intent_id, created_at + interval '2 seconds', 'stripe'
FROM credit_transactions WHERE stripe_event_id IS NOT NULL;
-- Issues with their events: 50 of the user (4 versions each), 5 000 of background users (2 each).
CREATE TEMP TABLE bench_issues AS
SELECT 'credit-balance:u_timeline#' || i AS issue_id, 'u_timeline' AS user_id, 4 AS versions,
  now() - (i || ' hours')::interval AS seen FROM generate_series(1, 50) i
UNION ALL
SELECT 'credit-balance:u' || i, 'u' || i, 2, now() - (i || ' minutes')::interval FROM generate_series(1, 5000) i;
INSERT INTO assurance.issue_events (issue_id, version, event)
SELECT b.issue_id, v, jsonb_build_object('issueId', b.issue_id, 'version', v,
  'status', CASE WHEN v = b.versions THEN 'resolved' ELSE 'open' END, 'check', 'credit_balance_reconciliation',
  'category', 'credits', 'severity', 'high', 'userId', b.user_id, 'revenueImpacting', true,
  'repairAction', 'reconcile_balance', 'title', 'Credit balance does not match the ledger',
  'evidence', jsonb_build_object('ledgerBalance', 100 * v, 'accountCredits', 100, 'difference', 100 * v - 100),
  'atRisk', jsonb_build_object('credits', 100 * v - 100),
  'cause', jsonb_build_object('topic', 'billing.ledger.v1', 'partition', 0, 'offset', v),
  'firstSeenAt', to_char((b.seen - interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'lastSeenAt', to_char((b.seen + (v || ' minutes')::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
  'resolvedAt', CASE WHEN v = b.versions
    THEN to_char((b.seen + (v || ' minutes')::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') END)
FROM bench_issues b, generate_series(1, 4) v WHERE v <= b.versions;
INSERT INTO assurance.issues (issue_id, version, status, check_name, category, severity, user_id, revenue_impacting,
  repair_action, title, evidence, event, first_seen_at, last_seen_at, resolved_at, resolution)
SELECT e.issue_id, e.version, e.event->>'status', 'credit_balance_reconciliation', 'credits', 'high',
  e.event->>'userId', true, 'reconcile_balance', e.event->>'title', e.event->'evidence', e.event,
  (e.event->>'firstSeenAt')::timestamptz, (e.event->>'lastSeenAt')::timestamptz,
  (e.event->>'resolvedAt')::timestamptz, CASE WHEN e.event->>'resolvedAt' IS NOT NULL THEN 'fixed' END
FROM assurance.issue_events e JOIN bench_issues b ON b.issue_id = e.issue_id AND e.version = b.versions;
INSERT INTO assurance.processed_commands (command_id, issue_id, result, processed_at, actor, reason)
SELECT 'cmd_' || i, 'credit-balance:u_timeline#' || i,
  jsonb_build_object('commandId', 'cmd_' || i, 'issueId', 'credit-balance:u_timeline#' || i, 'outcome', 'applied',
    'processedAt', to_char((now() - (i || ' hours')::interval) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
  now() - (i || ' hours')::interval, 'oncall_jane', 'reconciled'
FROM generate_series(1, 20) i;
-- Stripe events: 500 of the user's customer, 20 000 of others.
INSERT INTO assurance.stripe_events (customer_id, event_id, type, created_at, object_id, status, subscription_id,
  billing_reason, amount_paid, currency)
SELECT 'cus_timeline', 'evt_s_' || i, 'invoice.paid', now() - (i || ' hours')::interval, 'in_' || i, 'paid',
  'sub_timeline', 'subscription_cycle', 4900, 'usd'
FROM generate_series(1, 500) i
UNION ALL
SELECT 'cus_' || (i % 10000), 'evt_o_' || i, 'invoice.paid', now() - (i || ' minutes')::interval, 'in_o_' || i,
  'paid', 'sub_o', 'subscription_cycle', 900, 'usd'
FROM generate_series(1, 20000) i;
ANALYZE;
SQL

"$BIN" kafka-dev --partitions 4 >"$DIR/kafka.out" 2>"$DIR/kafka.err" & PIDS+=($!)
waitfor 60 grep -q '^bootstrap=' "$DIR/kafka.out" || { echo "kafka-dev did not start" >&2; cat "$DIR/kafka.err" >&2; exit 1; }
TOKEN=timeline-bench-token
printf '%s bench ADMIN\n' "$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)" >"$DIR/tokens"
HTTP=$(freeport)
ASSURE_KAFKA_BROKERS=$(sed -n 's/^bootstrap=//p' "$DIR/kafka.out" | head -1) ASSURE_HTTP_PORT=$HTTP \
  ASSURE_ADMIN_TOKENS="$DIR/tokens" ASSURE_GROUP_ID=timeline-bench "$BIN" run >"$DIR/worker.log" 2>&1 & PIDS+=($!)
waitfor 120 curl -sf "http://127.0.0.1:$HTTP/healthz" || { echo "the worker did not start" >&2; tail "$DIR/worker.log" >&2; exit 1; }
URL="http://127.0.0.1:$HTTP/api/admin/billing-assurance/users/u_timeline/timeline"

# The answers are what they claim: the newest entries, oldest first.
for limit in 200 1000; do
    curl -sf -H "Authorization: Bearer $TOKEN" "$URL?limit=$limit" >"$DIR/answer.json"
    python3 - "$DIR/answer.json" "$limit" <<'PY'
import json, sys
entries = json.load(open(sys.argv[1]))["entries"]
limit = int(sys.argv[2])
assert len(entries) == limit, f"{len(entries)} entries for limit {limit}"
assert [e["at"] for e in entries] == sorted(e["at"] for e in entries), "not oldest first"
print(f"limit {limit}: {len(entries)} entries, kinds {sorted({e['kind'] for e in entries})}", file=sys.stderr)
PY
done

# times QUERY: REQUESTS requests on one keep-alive connection; prints p50 p99 max (ms).
times() {
    local config="$DIR/curl.cfg"
    : >"$config"
    for _ in $(seq "$REQUESTS"); do printf 'url = "%s%s"\noutput = /dev/null\n' "$URL" "$1" >>"$config"; done
    curl -s -H "Authorization: Bearer $TOKEN" -w '%{http_code} %{time_total}\n' --config "$config" \
      | python3 -c '
import sys
rows = [line.split() for line in sys.stdin if line.strip()]
bad = [r for r in rows if r[0] != "200"]
assert not bad, f"{len(bad)} answers were not 200: {bad[:3]}"
ms = sorted(float(r[1]) * 1000 for r in rows)
pick = lambda q: ms[min(len(ms) - 1, max(0, -(-len(ms) * q // 100) - 1))]
print(f"{pick(50):.1f} {pick(99):.1f} {ms[-1]:.1f}")'
}
times "" >/dev/null # warm-up (connections, caches)
echo "requests per round and limit: $REQUESTS; user u_timeline has 10000 ledger rows"
: >"$DIR/rounds"
for round in $(seq "$ROUNDS"); do
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    default=$(times "")
    large=$(times "?limit=1000")
    echo "$default $large" >>"$DIR/rounds"
    read -r d50 d99 dmax l50 l99 lmax <<<"$default $large"
    echo "round $round (load $load): limit 200: p50 $d50 ms, p99 $d99 ms, max $dmax ms; limit 1000: p50 $l50 ms, p99 $l99 ms, max $lmax ms"
done
python3 - "$DIR/rounds" <<'PY'
import statistics, sys
rounds = [list(map(float, line.split())) for line in open(sys.argv[1])]
col = lambda i: statistics.median(r[i] for r in rounds)
span = lambda i: f"{min(r[i] for r in rounds):.1f}-{max(r[i] for r in rounds):.1f}"
print(f"median of {len(rounds)} rounds: limit 200: p50 {col(0):.1f} ms, p99 {col(1):.1f} ms ({span(1)}); "
      f"limit 1000: p50 {col(3):.1f} ms, p99 {col(4):.1f} ms ({span(4)})")
PY
