#!/usr/bin/env bash
# The whole test suite: set-up, format check, lint, type check, then every test (which builds first).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/node-env.sh
echo "==> format check"
npx prettier --check .
echo "==> lint"
npx eslint .
echo "==> type check"
npx tsc -p tsconfig.json
echo "==> tests"
npx vitest run "$@"
