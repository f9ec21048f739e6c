#!/usr/bin/env bash
# Installs what is missing for `run` (the main job) or `test` (the suite), then
# builds. Idempotent: a second run on a set-up machine only checks and builds.
set -euo pipefail
cd "$(dirname "$0")/.."
purpose=${1:-run}
deps=scripts/deps

need_apt=()
while read -r pkg; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done < <(cat "$deps/apt-run.txt"; [[ "$purpose" == test ]] && cat "$deps/apt-test.txt" || true)
if ((${#need_apt[@]})); then
  echo "setup: installing Debian packages: ${need_apt[*]}"
  sudo_cmd=(); [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

lock_stamp="node_modules/.setup-lock-$(sha1sum package-lock.json | cut -c1-12)"
if [[ ! -f "$lock_stamp" ]]; then
  # Not `npm ci`: the lock cannot list chdb's optional binaries for other
  # platforms (the registry reachable here does not serve them), and npm ci
  # refuses such a lock. install --no-save installs exactly the locked tree.
  echo "setup: npm install (locked versions)"
  npm install --no-audit --no-fund --no-save --loglevel=error
  touch "$lock_stamp"
fi

if [[ "$purpose" == test ]]; then
  venv=.cache/peers
  stamp="$venv/.installed-$(sha1sum "$deps/pip-test.txt" | cut -c1-12)"
  if [[ ! -f "$stamp" ]]; then
    echo "setup: Python peers into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check -r "$deps/pip-test.txt"
    touch "$stamp"
  fi
  if [[ -f "$deps/maven-test.txt" ]]; then
    while read -r artifact dest; do
      [[ -z "$artifact" || "$artifact" == \#* ]] && continue
      if [[ ! -f "$dest" ]]; then
        echo "setup: fetching $artifact"
        mkdir -p "$(dirname "$dest")"
        mvn -q dependency:copy -Dartifact="$artifact" -DoutputDirectory="$(dirname "$dest")" -Dmdep.stripVersion=false >/dev/null
      fi
    done < "$deps/maven-test.txt"
  fi
fi

echo "setup: building"
npm run --silent build

# The web UI's static export, rebuilt only when its sources change.
# next-env.d.ts is written by the build itself; the lock file brings Next.js upgrades.
ui_hash=$( (find core-extension/ui \( -path core-extension/ui/out -o -path core-extension/ui/.next -o -path core-extension/ui/node_modules \) -prune \
  -o -type f ! -name next-env.d.ts -print0; printf 'package-lock.json\0') | sort -z | xargs -0 sha1sum | sha1sum | cut -c1-12)
if [[ ! -f "core-extension/ui/out/.built-$ui_hash" ]]; then
  echo "setup: building the web UI"
  npm run --silent build:ui >/dev/null
  touch "core-extension/ui/out/.built-$ui_hash"
fi
