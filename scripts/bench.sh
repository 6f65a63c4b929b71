#!/usr/bin/env bash
# The product benchmark: installs what is missing, builds the release binary and runs
# `assure-worker bench` (mock Kafka cluster with 64 partitions, a durable throwaway PostgreSQL, real
# `assure-worker run` processes measured from outside). Arguments go to bench, e.g.
# `scripts/bench.sh --distribution zipf --workers 2 --json`. Needs a quiet machine for figures worth
# comparing; it removes everything it started on exit and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

scripts/install.sh
echo "bench.sh: building (release; the first build takes several minutes)" >&2
swift build -c release --product assure-worker
exec "$(swift build -c release --show-bin-path)/assure-worker" bench "$@"
