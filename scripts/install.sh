#!/usr/bin/env bash
# Installs what building and testing assure needs from Debian, and nothing when it is all there.
#
# Needed: librdkafka-dev (librdkafka 2.0.x + pkg-config file), kcat (cross-process tests),
# postgresql (server binaries for the throwaway test servers; also creates the `postgres` user),
# libpq-dev (pg_config, to find those binaries), pkg-config.
# Swift itself is not installed here: it is assumed at /opt/swift (or already on PATH).
set -euo pipefail

packages=(librdkafka-dev kcat postgresql libpq-dev pkg-config)

if [[ -x /opt/swift/usr/bin/swift && ":$PATH:" != *":/opt/swift/usr/bin:"* ]]; then
    export PATH="/opt/swift/usr/bin:$PATH"
fi

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done

if ((${#missing[@]} > 0)); then
    echo "install.sh: installing ${missing[*]}" >&2
    sudo=()
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || { echo "install.sh: not root and no sudo; install ${missing[*]} by hand" >&2; exit 1; }
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${packages[@]}"
fi

if ! command -v swift >/dev/null; then
    echo "install.sh: swift is not on PATH and not at /opt/swift/usr/bin; install Swift 6.x first" >&2
    exit 1
fi
if ! pkg-config --exists rdkafka; then
    echo "install.sh: pkg-config cannot find rdkafka after installing librdkafka-dev" >&2
    exit 1
fi

# The triage page's browser test: Debian's chromium and its driver, and selenium (PyPI) to drive them
# through /usr/bin/chromedriver (selenium must not try to download a driver of its own).
browser_missing=()
for package in chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || browser_missing+=("$package")
done
if ((${#browser_missing[@]} > 0)); then
    echo "install.sh: installing ${browser_missing[*]}" >&2
    sudo=()
    [[ $(id -u) -ne 0 ]] && sudo=(sudo)
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${browser_missing[@]}"
fi
if ! python3 -c 'import selenium' 2>/dev/null; then
    echo "install.sh: installing selenium from PyPI" >&2
    python3 -m pip install --quiet selenium 2>/dev/null || python3 -m pip install --quiet --break-system-packages selenium
fi

# The real broker (Tansu) and librdkafka 2.16 for the real-broker suite and `demo.sh --real-broker`.
"$(dirname "$0")/install-real-broker.sh"
