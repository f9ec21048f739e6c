#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test once.
# Tests start their own peers (nats-server, clickhouse-server, exporters, the
# Iceberg REST catalog) on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export PATH="$PWD/.cache/peers/bin:$PATH" PEERS_PYTHON="$PWD/.cache/peers/bin/python"
if (($#)); then files=("$@"); else mapfile -t files < <(find dist/test -name "*.test.js" | sort); fi
# --test-force-exit: a handle a test file leaks (a server left listening) must not hold the run open after its tests ended.
exec node --test --test-concurrency=1 --test-timeout=900000 --test-force-exit "${files[@]}"
