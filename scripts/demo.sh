#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the release binary and runs the embedded
# demo (librdkafka's mock Kafka cluster, a throwaway PostgreSQL, two workers, traffic with injected faults,
# the report, one repair of every repairable kind, the report again, the audit). Arguments go to the demo,
# e.g. `scripts/demo.sh --users 200`; `scripts/demo.sh --real-broker` runs it on a Tansu broker instead of
# the mock cluster. The demo removes everything it started on exit and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

scripts/install.sh
echo "demo.sh: building (release; the first build takes several minutes)" >&2
swift build -c release --product assure-worker
binary="$(swift build -c release --show-bin-path)/assure-worker"
# --real-broker: the same demo on a Tansu broker, with librdkafka 2.16 swapped in (scripts/real-broker-env.sh).
for argument in "$@"; do
    if [[ "$argument" == "--real-broker" ]]; then exec scripts/real-broker-env.sh "$binary" demo "$@"; fi
done
exec "$binary" demo "$@"
