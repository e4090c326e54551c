#!/usr/bin/env bash
# npm run bench:ingest — decode and assemble the real P001 series (148 slices, JPEG
# Lossless): ours vs pydicom + numpy + pylibjpeg, alternating in one run. Reports the
# medians of in-process wall time and of peak RSS. A benchmark, not a test: nothing asserted.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/python.sh"
use_node
use_venv
cd "$REPO_ROOT"
series="${1:-$REPO_ROOT/../shared/data/covid-ct-md/P001}"
[[ -d $series ]] || die "real CT sample data not found at $series"
npm run --silent build >/dev/null
exec node scripts/bench/run-peers.mjs "${BENCH_RUNS:-5}" \
  ours "node scripts/bench/ingest-ours.mjs $series" \
  peer "python scripts/bench/ingest_peer.py $series" \
  ingest_ms peer_ms
