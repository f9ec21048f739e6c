#!/usr/bin/env bash
# The main job: installs what is missing, builds, then runs every service on
# embedded defaults with a built-in traffic source. Options go to `demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
exec node dist/cli.js demo "$@"
