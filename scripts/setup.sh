#!/usr/bin/env bash
# Installs what Skiff needs on a fresh machine of this kind: npm packages (when missing or stale) and
# the compiled platform. Used by both README commands, so each works on its own.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=node_modules/.skiff-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "==> installing npm packages (native modules build from source: this can take a few minutes)"
  npm ci --no-audit --no-fund
  cp package-lock.json "$stamp"
fi

echo "==> building"
npx tsc -p tsconfig.build.json
