#!/usr/bin/env bash
# npm run bench:seg — encode a 512×512×148 mask with three segments (two lungs, a lesion)
# as a DICOM SEG: ours (libs/seg) vs highdicom, BINARY and LABELMAP, both from the same
# masks and geometry, alternating in one run. Reports the medians of in-process encode
# time and the file sizes; the last line compares BINARY. A benchmark: nothing asserted
# except that both sides encoded the same voxels.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node.sh"
source "$(dirname "${BASH_SOURCE[0]}")/../lib/python.sh"
use_node
use_venv
cd "$REPO_ROOT"
npm run --silent build >/dev/null
node scripts/bench/run-peers.mjs "${BENCH_RUNS:-5}" \
  ours "node scripts/bench/seg-ours.mjs" \
  peer "python scripts/bench/seg-peer.py" \
  seg_ms peer_ms | node scripts/bench/seg-summary.mjs
