#!/usr/bin/env bash
# make e2e: install what the lab needs by package name, run tests/e2e on a throwaway lab, tear it down
# whatever happens. Never skipped: a missing component fails with its name.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.venv/bin/python}

if [ "$(id -u)" != 0 ]; then
  echo "make e2e builds network namespaces and runs dockerd: run it as root" >&2
  exit 1
fi
packages=(docker.io openssh-server openssh-client docker-registry busybox-static iproute2 iptables ufw
          unattended-upgrades sudo sqlite3 apache2-utils curl openssl ca-certificates postgresql inotify-tools)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if ! command -v go >/dev/null 2>&1; then
  echo "make e2e builds kamal-proxy from its Go module: install Go 1.26 (golang.org/dl is not reachable here;" \
       "this machine kind ships it)" >&2
  exit 1
fi

# The Pulumi CLI at Berth's pinned version: built from its Go module once, then taken from the cache.
BERTH_PULUMI_CLI=$(tools/pulumi-cli.sh)
export BERTH_PULUMI_CLI
# The hosts' Docker Engine: 29 as users get it (built from its Go modules once, then cached), or Debian's
# docker.io 20.10 with E2E_DOCKER=20.10 (tests/e2e/engines.py).
if [ "${E2E_DOCKER:-29}" = 29 ]; then
  BERTH_DOCKER_BIN=$(tools/docker-engine.sh)
  export BERTH_DOCKER_BIN
fi

trap '"$PY" -m tests.e2e.testhost down' EXIT
# hypothesis is not used here, and its end-of-run import trips a CPython 3.11 AST bug under the
# threads the SDK leaves behind ("AST constructor recursion depth mismatch").
# Bytecode for what `berth`, the program and the lab's plugins load, as pip compiles an installed package: an
# editable install is left uncompiled, and where PYTHONDONTWRITEBYTECODE is set (this project's machines set it)
# every `berth` and every plugin start compiled them from source again, about 50 ms each time.
"$PY" -m compileall -q __main__.py berth components tests/e2e/plugins >/dev/null
read -ra tests <<< "${E2E_TESTS:-tests/e2e}"  # E2E_TESTS: one or more test paths, space-separated
BERTH_E2E=1 "$PY" -m pytest -p no:cacheprovider -p no:hypothesispytest "${tests[@]}" "$@"
