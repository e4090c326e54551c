#!/usr/bin/env bash
# The README's main-job command: sets up a machine, starts the local stack and runs the
# pipeline, as far as it exists today, on the embedded phantom study.
# Today: the phantom study goes into the archive (Orthanc, STOW-RS), then ingest pulls
# it back over DICOMweb, chooses the series and builds the volume (`triage inspect`).
# Inference and write-back join as their issues land.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/node.sh"
cd "$REPO_ROOT"
bash scripts/provision.sh
use_node24
npm run --silent build
bash scripts/stack/stack.sh up
# The CLI reads the archive's address and credentials from the environment, like the worker.
while IFS='=' read -r key value; do export "$key=$value"; done < <(bash scripts/stack/stack.sh env orthanc)
export DICOMWEB_AUTH=basic DICOMWEB_USERNAME="$ORTHANC_USERNAME" DICOMWEB_PASSWORD="$ORTHANC_PASSWORD"

demo="$CACHE_DIR/demo"
rm -rf "$demo" && mkdir -p "$demo"
log "writing the embedded phantom study to $demo/phantom"
npx triage phantom "$demo/phantom" >"$demo/phantom.json"
study=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).studyInstanceUid)' "$demo/phantom.json")
log "storing it in the archive ($DICOMWEB_BASE_URL)"
npx triage store "$demo/phantom" >"$demo/store.json"
log "triage inspect: choose the series and build the volume from the archive"
npx triage inspect "$DICOMWEB_BASE_URL/studies/$study" | tee "$demo/inspect.json"
log "done: results in $demo (the stack keeps running; npm run stack:down stops it)"
