#!/usr/bin/env bash
# The README's main-job command: sets up a machine, starts the local stack and runs the
# pipeline, as far as it exists today, on the embedded phantom study.
# Today: ingest (series selection + volume) from the archive. Inference and write-back
# join as their issues land.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/node.sh"
cd "$REPO_ROOT"
bash scripts/provision.sh
use_node24
npm run --silent build
bash scripts/stack/stack.sh up
demo="$CACHE_DIR/demo"
rm -rf "$demo" && mkdir -p "$demo"
log "writing the embedded phantom study to $demo/phantom"
npx triage phantom "$demo/phantom" >"$demo/phantom.json"
log "triage inspect: choose the series and build the volume"
npx triage inspect "$demo/phantom" | tee "$demo/inspect.json"
log "done: $demo/inspect.json (the stack keeps running; npm run stack:down stops it)"
