#!/usr/bin/env bash
# npm run bench:e2e — the real P001 series through the whole triage against the local stack
# (Orthanc + HAPI FHIR, and Kafka for the worker). Per study, in fresh processes: retrieve,
# decode, inference, encode, store and FHIR, and peak RSS (medians of BENCH_RUNS, default 3).
# Then BENCH_QUEUED (default 10) studies queued at once on Kafka for the real worker: studies
# per hour. Every study is a fresh copy (new UIDs) made by Orthanc and deleted afterwards.
# A benchmark, not a test: nothing asserted. Last line: RESULT e2e_ms=… studies_per_hour=…
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node.sh"
use_node
cd "$REPO_ROOT"
series="${1:-$REPO_ROOT/../shared/data/covid-ct-md/P001}"
[[ -d $series ]] || die "real CT sample data not found at $series"
bash scripts/stack/stack.sh up >&2
npm run --silent build >/dev/null
while IFS='=' read -r key value; do export "$key=$value"; done < <(bash scripts/stack/stack.sh env)
export ALLOW_INSECURE_HTTP=true DICOMWEB_AUTH=basic DICOMWEB_USERNAME="$ORTHANC_USERNAME" DICOMWEB_PASSWORD="$ORTHANC_PASSWORD"
exec node scripts/bench/e2e-bench.mjs "$series" "$CACHE_DIR"
