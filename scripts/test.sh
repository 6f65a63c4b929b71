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
