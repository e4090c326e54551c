#!/usr/bin/env bash
# `npm run demo`: sets up a machine, starts the local stack and runs the main job on the
# embedded phantom study through the archive: the phantom goes into Orthanc (STOW-RS),
# `triage inspect` shows the series choice from the archive, and `triage analyze` pulls it
# back over DICOMweb, runs the model and writes SEG, SR, FHIR Bundle, numbers and preview.
# (`npm run analyze` does the last step alone, from files, without servers.)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/node.sh"
cd "$REPO_ROOT"
bash scripts/provision.sh
use_node
npm run --silent build
bash scripts/stack/stack.sh up
# The CLI reads the archive's address and credentials from the environment, like the worker.
while IFS='=' read -r key value; do export "$key=$value"; done < <(bash scripts/stack/stack.sh env orthanc)
export ALLOW_INSECURE_HTTP=true DICOMWEB_AUTH=basic DICOMWEB_USERNAME="$ORTHANC_USERNAME" DICOMWEB_PASSWORD="$ORTHANC_PASSWORD"

demo="$CACHE_DIR/demo"
rm -rf "$demo" && mkdir -p "$demo"
log "writing the embedded phantom study to $demo/phantom"
npx triage phantom "$demo/phantom" >"$demo/phantom.json"
study=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).studyInstanceUid)' "$demo/phantom.json")
log "storing it in the archive ($DICOMWEB_BASE_URL)"
npx triage store "$demo/phantom" >"$demo/store.json"
log "triage inspect: choose the series and build the volume from the archive"
npx triage inspect "$DICOMWEB_BASE_URL/studies/$study" >"$demo/inspect.json"
log "triage analyze: the whole triage of the study from the archive into $demo/analyze"
npx triage analyze "$DICOMWEB_BASE_URL/studies/$study" --out "$demo/analyze" >/dev/null
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`probability ${r.covidProbability.toFixed(3)}, severity ${r.severityPercent.toFixed(1)} %, priority ${r.priority}`);
  console.log(Object.values(r.outputs).join("\n"));
  console.log(r.disclaimer);
' "$demo/analyze/result.json"
log "done: results in $demo (the stack keeps running; npm run stack:down stops it)"
