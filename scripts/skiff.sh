#!/usr/bin/env bash
# The `skiff` CLI of this checkout, run by the Node.js the README's scripts use: the machine's when it
# is 22 or later, else the Node.js 24 that scripts/setup.sh fetched into .node/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/node-env.sh"
exec node "$root/bin/skiff.js" "$@"
