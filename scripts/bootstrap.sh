#!/usr/bin/env bash
# Sets up a machine for development: Node 24 and the npm dependencies.
# `provision.sh` adds the system packages the local stack and the validators need.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/node.sh"
use_node
cd "$REPO_ROOT"
stamp=node_modules/.package-lock.json
if [[ ! -f $stamp || package-lock.json -nt $stamp ]]; then
  log "npm ci (node $(node --version))"
  npm ci --no-audit --no-fund
else
  log "node_modules up to date"
fi
