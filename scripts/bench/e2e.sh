#!/usr/bin/env bash
# npm run bench:e2e — the real P001 series through the whole triage against the local stack
# (Orthanc + HAPI FHIR, and Kafka for the worker), for the demo model set and the paper-size set
# (paper-size-set.sh). Per study, in fresh processes, alternating: ours (retrieve, decode,
# inference, encode, store and FHIR) and the Python reference pipeline e2e_peer.py (requests,
# pydicom + GDCM, infer.py + onnxruntime, highdicom SEG, FHIR with requests), the same study
# (fresh copies), the same servers, the same intra-op threads (INFERENCE_THREADS, default one per
# core) and batch (INFERENCE_BATCH_SLICES, default 16); medians of BENCH_RUNS (default 3). Then the
# real worker's peak RSS for one study per set vs 3 × the HU volume + the model, and
# BENCH_QUEUED (default 10) studies queued at once on Kafka for the real worker: studies per hour.
# Every study is a fresh copy (new UIDs) made by Orthanc and deleted afterwards. BENCH_MODELS:
# "demo,paper" (default), "demo" or "paper". A benchmark, not a test: nothing asserted.
# Last line: RESULT e2e_ms=… peer_ms=… ratio=… paper_e2e_ms=… … studies_per_hour=…
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/python.sh"
use_node
use_venv
cd "$REPO_ROOT"
series="${1:-$REPO_ROOT/../shared/data/covid-ct-md/P001}"
[[ -d $series ]] || die "real CT sample data not found at $series"
sets=()
models="${BENCH_MODELS:-demo,paper}"
for set in ${models//,/ }; do
  case $set in
    demo) sets+=("demo=models/covid-triage-demo/manifest.json") ;;
    paper) sets+=("paper=$(bash scripts/bench/paper-size-set.sh)") ;;
    *) die "BENCH_MODELS: unknown model set '$set' (demo, paper)" ;;
  esac
done
bash scripts/stack/stack.sh up >&2
npm run --silent build >/dev/null
while IFS='=' read -r key value; do export "$key=$value"; done < <(bash scripts/stack/stack.sh env)
export ALLOW_INSECURE_HTTP=true DICOMWEB_AUTH=basic DICOMWEB_USERNAME="$ORTHANC_USERNAME" DICOMWEB_PASSWORD="$ORTHANC_PASSWORD"
export INFERENCE_THREADS="${INFERENCE_THREADS:-$(nproc)}" BENCH_PYTHON=python
exec node scripts/bench/e2e-bench.mjs "$series" "$CACHE_DIR" "${sets[@]}"
