#!/usr/bin/env bash
# Runs the demo: `assure-worker demo` when the binary has it; otherwise a development stack of
# librdkafka's mock Kafka (`assure-worker kafka-dev`) and a throwaway PostgreSQL, migrated, with
# instructions for starting workers against them. Ctrl-C stops and removes everything.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

scripts/install.sh
echo "demo.sh: building (release)" >&2
swift build -c release --product assure-worker
worker="$(swift build -c release --show-bin-path)/assure-worker"

if "$worker" --help 2>/dev/null | grep -qE '^\s+demo\b'; then
    exec "$worker" demo "$@"
fi

# --- Fallback: mock Kafka + throwaway PostgreSQL --------------------------------------------
pg_bin="${ASSURE_PG_BINDIR:-$(pg_config --bindir 2>/dev/null || true)}"
if [[ ! -x "$pg_bin/initdb" ]]; then
    pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
fi
[[ -x "$pg_bin/initdb" ]] || { echo "demo.sh: PostgreSQL server binaries not found" >&2; exit 1; }

as_postgres=()
if [[ $(id -u) -eq 0 ]]; then as_postgres=(runuser -u postgres --); fi

pg_dir="$(mktemp -d /tmp/assure-demo-pg-XXXXXX)"
kafka_pid=""
sleeper_pid=""
kafka_log="$(mktemp /tmp/assure-demo-kafka-XXXXXX.log)"

cleanup() {
    trap - EXIT INT TERM
    if [[ -n "$sleeper_pid" ]]; then kill "$sleeper_pid" 2>/dev/null || true; fi
    if [[ -n "$kafka_pid" ]] && kill -0 "$kafka_pid" 2>/dev/null; then
        kill "$kafka_pid" 2>/dev/null || true
        wait "$kafka_pid" 2>/dev/null || true
    fi
    if [[ -f "$pg_dir/postmaster.pid" ]]; then
        (cd /tmp && "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_dir" -m immediate -w stop >/dev/null 2>&1) || true
    fi
    rm -rf "$pg_dir" "$kafka_log"
    echo "demo.sh: stopped and cleaned up" >&2
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
if [[ ${#as_postgres[@]} -gt 0 ]]; then chown postgres: "$pg_dir"; fi
chmod 700 "$pg_dir"
echo "demo.sh: starting PostgreSQL on 127.0.0.1:$port" >&2
(cd /tmp && "${as_postgres[@]}" "$pg_bin/initdb" -D "$pg_dir" -A trust -U postgres -E UTF8 --no-locale >/dev/null)
(cd /tmp && "${as_postgres[@]}" "$pg_bin/pg_ctl" -D "$pg_dir" -l "$pg_dir/server.log" -w start \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1" >/dev/null)
database_url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"

"$worker" migrate --database-url "$database_url"

brokers=""
if "$worker" --help 2>/dev/null | grep -qE '^\s+kafka-dev\b'; then
    echo "demo.sh: starting the mock Kafka cluster (assure-worker kafka-dev)" >&2
    "$worker" kafka-dev >"$kafka_log" 2>&1 &
    kafka_pid=$!
    for _ in $(seq 1 300); do
        brokers="$(sed -n 's/^bootstrap=//p' "$kafka_log" | head -n 1)"
        [[ -n "$brokers" ]] && break
        kill -0 "$kafka_pid" 2>/dev/null || { cat "$kafka_log" >&2; echo "demo.sh: kafka-dev exited" >&2; exit 1; }
        sleep 0.1
    done
    [[ -n "$brokers" ]] || { echo "demo.sh: kafka-dev printed no bootstrap line" >&2; exit 1; }
else
    echo "demo.sh: this build has no kafka-dev subcommand yet; point ASSURE_KAFKA_BROKERS at a real Kafka" >&2
    brokers="localhost:9092"
fi

cat <<INFO

Development stack is up (Ctrl-C stops it):
  ASSURE_KAFKA_BROKERS=$brokers
  ASSURE_DATABASE_URL=$database_url

Run workers in other terminals (same group id = one consumer group):
  ASSURE_KAFKA_BROKERS=$brokers ASSURE_DATABASE_URL='$database_url' ASSURE_HTTP_PORT=8081 $worker run
  ASSURE_KAFKA_BROKERS=$brokers ASSURE_DATABASE_URL='$database_url' ASSURE_HTTP_PORT=8082 $worker run

Produce input with kcat, for example:
  echo 'user_1|{"id":"ctx_1","userId":"user_1","seq":1,"type":"PURCHASE","amount":500,"balanceAfter":500,"createdAt":"2026-11-20T10:00:00Z"}' \\
    | kcat -P -b $brokers -t billing.ledger.v1 -K '|'
  kcat -C -b $brokers -t billing.assurance.issues.v1 -e
INFO

if [[ -n "$kafka_pid" ]]; then
    wait "$kafka_pid"
else
    # `wait` on a background sleep returns at once on Ctrl-C, so the trap runs immediately.
    sleep infinity &
    sleeper_pid=$!
    wait "$sleeper_pid"
fi
