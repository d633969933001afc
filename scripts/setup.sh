#!/usr/bin/env bash
# Installs what Skiff needs on a fresh machine of this kind: npm packages (when missing or stale) and
# the compiled platform. Used by both README commands, so each works on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/node-env.sh

# Reinstall when the lock file or the Node.js ABI changed (a native module is built for one ABI).
stamp=node_modules/.skiff-lock-stamp
want_stamp="$(cat package-lock.json; node -p '"node-abi " + process.versions.modules')"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want_stamp" ]; then
  echo "==> installing npm packages on Node.js $(node --version)"
  npm ci --no-audit --no-fund
  printf '%s' "$want_stamp" >"$stamp"
fi

# The Python runtime runs Debian's interpreter (not a pyenv one) and installs requirements with its pip.
if ! /usr/bin/python3 -m pip --version >/dev/null 2>&1; then
  echo "==> installing python3 and python3-pip (Debian)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3 python3-pip; else
    echo "warning: /usr/bin/python3 with pip is missing; the Python runtime will not work (apt-get install python3-pip)" >&2
  fi
fi

# The external Baetyl runtime tests run a gRPC server in Debian's Python (grpcio, protobuf, yaml),
# as Baetyl's own Python runtime needs them.
if ! /usr/bin/python3 -c 'import grpc, google.protobuf, yaml' >/dev/null 2>&1; then
  echo "==> installing python3-grpcio, python3-protobuf and python3-yaml (Debian)"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq python3-grpcio python3-protobuf python3-yaml; else
    echo "warning: python3-grpcio is missing; the external Baetyl runtime tests will fail (apt-get install python3-grpcio python3-protobuf python3-yaml)" >&2
  fi
fi

# Instances run in bubblewrap (Debian: bubblewrap); setpriv and mount come with util-linux.
if ! command -v bwrap >/dev/null 2>&1; then
  echo "==> installing bubblewrap (Debian), the sandbox of every function instance"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq bubblewrap; else
    echo "warning: bwrap is missing; skiff serve will refuse to start without --insecure-no-sandbox (apt-get install bubblewrap)" >&2
  fi
fi

# Functions with `network: "outbound"` get a network namespace of their own, NATed by slirp4netns.
if ! command -v slirp4netns >/dev/null 2>&1; then
  echo "==> installing slirp4netns (Debian), the private network of functions with outbound network"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq slirp4netns; else
    echo "warning: slirp4netns is missing; functions with network \"outbound\" will not start (apt-get install slirp4netns)" >&2
  fi
fi

# The trigger tests talk to a real Mosquitto broker and use Debian's MQTT and CoAP command-line clients.
if ! command -v mosquitto >/dev/null 2>&1 && ! [ -x /usr/sbin/mosquitto ] || ! command -v mosquitto_pub >/dev/null 2>&1 || ! command -v coap-client-notls >/dev/null 2>&1; then
  echo "==> installing mosquitto, mosquitto-clients and libcoap3-bin (Debian), for the trigger tests"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq mosquitto mosquitto-clients libcoap3-bin; else
    echo "warning: mosquitto / coap-client are missing; the MQTT and CoAP tests will fail (apt-get install mosquitto mosquitto-clients libcoap3-bin)" >&2
  fi
fi

# The packaging test checks the systemd unit with systemd-analyze verify (Debian: systemd).
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "==> installing systemd (Debian), for systemd-analyze verify of packaging/systemd/skiff.service"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq systemd; else
    echo "warning: systemd-analyze is missing; the systemd unit is not verified (apt-get install systemd)" >&2
  fi
fi

# The tinyFaaS compatibility tests run tinyFaaS's own script lines, which use curl and zip.
if ! command -v curl >/dev/null 2>&1 || ! command -v zip >/dev/null 2>&1; then
  echo "==> installing curl and zip (Debian), for the tinyFaaS script tests"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq curl zip; else
    echo "warning: curl or zip is missing; the tinyFaaS API tests will fail (apt-get install curl zip)" >&2
  fi
fi

echo "==> building"
npx tsc -p tsconfig.build.json
node scripts/bundle-schemas.mjs
