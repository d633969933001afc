#!/bin/sh
# Runs without Skiff: `./test.sh` in this folder. Calls fn.sh as Skiff does and checks its answers.
set -u
cd "$(dirname "$0")"
headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
failed=0

check() { # check <query> <expected answer>
  got=$(QUERY_STRING="$1" SKIFF_RESPONSE_HEADERS="$headers" ./fn.sh </dev/null 2>/dev/null)
  if [ "$got" = "$2" ]; then
    echo "ok: ?$1 -> $got"
  else
    echo "FAILED: ?$1 -> '$got', expected '$2'"
    failed=1
  fi
}

check 'name=ann' 'Hello, ann!'
check '' 'Hello, world!'
grep -q '^Content-Type: text/plain' "$headers" || { echo "FAILED: no Content-Type header"; failed=1; }
exit $failed
