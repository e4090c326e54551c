#!/usr/bin/env bash
# npm run bench:inference — the whole model pipeline (preprocessing, lungs.onnx, backbone_seg.onnx,
# pyramid pooling, cls_mlp.onnx, masks back on the source grid, left/right split, volumes) on the
# real P001 (148 slices, 512×512) on the CPU, for two model sets: the shipped demo (width 0.25)
# and a paper-size set (width 1.0 with the 1024-unit MLP, random weights, the demo's trained lung
# network: scripts/gpu/export_paper_size.py, exported once into $CACHE_DIR/models/paper-size, not
# committed). Ours (libs/inference, onnxruntime-node) vs the Python reference
# training/covid_triage/infer.py (numpy + onnxruntime), the same model set, the same HU volume,
# bit-identical ONNX inputs, the same intra-op threads (BENCH_THREADS, default: one per core) and
# batch (BENCH_BATCH, default 16), alternating in one run (inference-compare.mjs). Reading the
# DICOM and loading the model are not timed. Reports medians of the per-study time, slices/s and
# peak RSS, the FLOP-bound estimate (model_flops.py), and last a RESULT line.
# A benchmark, not a test: nothing asserted.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node.sh"
use_node
cd "$REPO_ROOT"
series="${1:-$REPO_ROOT/../shared/data/covid-ct-md/P001}"
[[ -d $series ]] || die "real CT sample data not found at $series"
VENV_TRAIN="$CACHE_DIR/venv-train" bash training/setup-venv.sh >&2
python="$CACHE_DIR/venv-train/bin/python"
paper=$(bash scripts/bench/paper-size-set.sh)
threads="${BENCH_THREADS:-$(nproc)}"
batch="${BENCH_BATCH:-16}"
export BENCH_THREADS="$threads" BENCH_BATCH="$batch"
log "inference bench: $series, demo and paper-size sets, $threads intra-op threads, $batch slices per batch, ${BENCH_RUNS:-3} runs each"
npm run --silent build >/dev/null
exec node scripts/bench/inference-compare.mjs "${BENCH_RUNS:-3}" "$series" models/covid-triage-demo/manifest.json \
  "$paper" "$python"
