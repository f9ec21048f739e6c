#!/usr/bin/env bash
# The test command: installs what is missing, builds, runs every test once.
# Tests start their own peers (nats-server, clickhouse-server, exporters, the
# Iceberg REST catalog) on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export PATH="$PWD/.cache/peers/bin:$PATH" PEERS_PYTHON="$PWD/.cache/peers/bin/python"
if (($#)); then files=("$@"); else mapfile -t files < <(find dist/test -name "*.test.js" | sort); fi
exec node --test --test-concurrency=1 --test-timeout=900000 "${files[@]}"
