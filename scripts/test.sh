#!/usr/bin/env bash
# Installs missing system packages, builds everything including tests, and runs the test suite.
# Each test process starts its own throwaway PostgreSQL (stopped at exit), or uses
# ASSURE_TEST_DATABASE_URL when set.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v swift >/dev/null && [[ -x /opt/swift/usr/bin/swift ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

scripts/install.sh

echo "test.sh: swift build --build-tests" >&2
swift build --build-tests
echo "test.sh: swift test" >&2
swift test --skip-build

# The real-broker suite: the consumer-group claims against Tansu, with librdkafka 2.16 swapped in for
# Debian's 2.0.2 (which the main run above used), so both versions are tested on every run.
echo "test.sh: swift test --filter RealBrokerTests (Tansu, librdkafka 2.16)" >&2
scripts/real-broker-env.sh swift test --skip-build --filter RealBrokerTests

# The triage page in headless chromium against the demo's workers; screenshots land in ASSURE_ARTIFACTS_DIR.
echo "test.sh: browser test of the triage page" >&2
ASSURE_WORKER_BIN="$(swift build --show-bin-path)/assure-worker" \
    ASSURE_ARTIFACTS_DIR="${ASSURE_ARTIFACTS_DIR:-.build/test-artifacts}" \
    timeout 900 python3 Tests/BrowserTests/test_triage_page.py
