#!/usr/bin/env bash
# npm run bench:memory — the real worker's peak RSS against what WORKER_MEMORY_BUDGET_MB promises,
# on the largest real CT series under ../shared/data (by voxels) and on that series resampled to
# each slice count of BENCH_MEMORY_SLICES (default "600,80": a 600-slice thin-slice study and a
# small one), against the local stack (Kafka, Orthanc, HAPI FHIR). Per study and budget (the
# default 4096 MB, and the study's estimate + 1): idle RSS, peak RSS (VmHWM), peak − idle vs
# MemoryBudget.estimateMb, and what a second study adds on the warm worker; medians of BENCH_RUNS
# (default 3). The peer in the same run: ingest_peer.py (pydicom + numpy) loading the same series.
# Fresh copies (new UIDs) are stored for every run and deleted afterwards. A benchmark, not a
# test: nothing asserted. Last line: RESULT peak_rss_mb=… peer_peak_rss_mb=… ratio=… …
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/python.sh"
use_node
cd "$REPO_ROOT"
data="${1:-$REPO_ROOT/../shared/data}"
if [[ ! -d $data ]]; then
  log "real CT sample data not found at $data; skipping bench:memory"
  exit 0
fi
use_venv
# Start only a stack that is not running: this one is shared, and its Orthanc readiness probe (which
# lists every study) can take longer than stack.sh waits while other tests fill the archive.
if bash scripts/stack/stack.sh status | grep -q ' stopped'; then bash scripts/stack/stack.sh up >&2; fi
npm run --silent build >/dev/null
while IFS='=' read -r key value; do export "$key=$value"; done < <(bash scripts/stack/stack.sh env)
export ALLOW_INSECURE_HTTP=true DICOMWEB_AUTH=basic DICOMWEB_USERNAME="$ORTHANC_USERNAME" DICOMWEB_PASSWORD="$ORTHANC_PASSWORD"
exec node scripts/bench/memory-bench.mjs "$data" "$CACHE_DIR"
