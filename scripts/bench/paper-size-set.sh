#!/usr/bin/env bash
# The paper-size model set of bench:inference and bench:e2e: width 1.0 with the 1024-unit MLP,
# random weights (seed 0), the demo's trained lung network, the demo's preprocessing: exported
# once by scripts/gpu/export_paper_size.py (PyTorch from the training venv) into
# $CACHE_DIR/models/paper-size (not committed, about 64 MB). Prints its manifest's path.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
cd "$REPO_ROOT"
out="$CACHE_DIR/models/paper-size"
if [[ ! -f $out/manifest.json ]]; then
  VENV_TRAIN="$CACHE_DIR/venv-train" bash training/setup-venv.sh >&2
  log "exporting the paper-size model set (width 1.0, random weights, seed 0) into $out"
  "$CACHE_DIR/venv-train/bin/python" scripts/gpu/export_paper_size.py "$out" models/covid-triage-demo >&2
fi
echo "$out/manifest.json"
