#!/usr/bin/env bash
# npm run bench:ingest — decode and assemble the real P001 series (148 slices, JPEG
# Lossless): ours on 2 and on 1 decoding threads vs pydicom 3 + numpy with the GDCM plugin
# and with pylibjpeg, alternating in one run (ingest-compare.mjs). Reports the medians of
# in-process wall time and of peak RSS. A benchmark, not a test: nothing asserted.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/python.sh"
use_node
use_venv
cd "$REPO_ROOT"
series="${1:-$REPO_ROOT/../shared/data/covid-ct-md/P001}"
[[ -d $series ]] || die "real CT sample data not found at $series"
npm run --silent build >/dev/null
exec node scripts/bench/ingest-compare.mjs "${BENCH_RUNS:-5}" "$series"
