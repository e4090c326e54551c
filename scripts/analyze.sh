#!/usr/bin/env bash
# npm run analyze [-- <folder-or-study-url>] — the main job in one command on a fresh machine:
# sets up Node 24 and the npm dependencies (registry only), builds, and runs `triage analyze`
# (by default on the embedded phantom study) into out/analyze. Needs no servers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/node.sh"
cd "$REPO_ROOT"
bash scripts/bootstrap.sh
use_node
npm run --silent build
out="${ANALYZE_OUT:-$REPO_ROOT/out/analyze}"
log "triage analyze ${*:-(the embedded phantom study)} → $out"
# The JSON summary it prints is result.json; show the essentials instead.
node dist/apps/cli/src/main.js analyze "$@" --out "$out" >/dev/null
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const lung = (n) => r.lungs.find((l) => l.region === n);
  console.log(`
  study        ${r.studyInstanceUid} (${r.series.slices} slices)
  model        ${r.model.id} ${r.model.version}
  probability  ${r.covidProbability.toFixed(3)}   severity ${r.severityPercent.toFixed(1)} %   priority ${r.priority}
  lungs        right ${lung("right").lungVolumeMl.toFixed(0)} mL, left ${lung("left").lungVolumeMl.toFixed(0)} mL
  time         ${(r.timings.totalMs / 1000).toFixed(1)} s

  ${Object.values(r.outputs).join("\n  ")}

  ${r.disclaimer}`);
' "$out/result.json"
