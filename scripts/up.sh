#!/usr/bin/env bash
# Brings Skiff up on embedded defaults with the example function deployed, and prints how to call it.
# Extra arguments go to `skiff serve` (e.g. --http-port 8001).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/node-env.sh
exec node bin/skiff.js serve --deploy examples/hello "$@"
