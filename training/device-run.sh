#!/usr/bin/env bash
# Paper-size training check on a GPU machine (width 1.0, MLP hidden 1024), procedural phantoms only.
#
# Needs only python3 with torch, numpy and onnxruntime(-gpu): no scipy/pydicom/nibabel, no network
# (the phantom path imports nothing else; without the onnx/jsonschema packages the graphs are still
# exported and the manifest is written unchecked, as the log says). It:
#   1. generates phantoms (4 per seed, one per kind) on all CPU cores, cached under .cache/synthetic;
#   2. trains the lung net and the multitask net for MINUTES minutes in all (--minutes cap);
#   3. prints iterations/s, the GPU memory peak and val AUC / Dice per epoch;
#   4. exports the ONNX set to $OUT and compares onnxruntime's CUDA provider with its CPU provider
#      on the exported graphs (max abs diff), when the CUDA provider is available.
#
# Usage (from anywhere):  OUT=/tmp/out MINUTES=5 training/device-run.sh [extra covid_triage.train flags]
# CPU smoke check:        OUT=/tmp/out MINUTES=1 DEVICE=cpu WIDTH=0.25 HIDDEN=256 SEEDS=1 VAL_SEEDS=1000:1001 \
#                           training/device-run.sh
set -euo pipefail
cd "$(dirname "$0")"
: "${OUT:?set OUT to the output folder}"
PY=${PYTHON:-python3}
MINUTES=${MINUTES:-5}
DEVICE=${DEVICE:-cuda}
WIDTH=${WIDTH:-1.0}
HIDDEN=${HIDDEN:-1024}
SEEDS=${SEEDS:-24}
VAL_SEEDS=${VAL_SEEDS:-1000:1004}
WORKERS=${GEN_WORKERS:-$(nproc)}
mkdir -p "$OUT"

"$PY" - <<'EOF'
import torch, numpy, onnxruntime as ort
print(f"torch {torch.__version__} cuda={torch.cuda.is_available()} "
      f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else ''} | numpy {numpy.__version__} | "
      f"onnxruntime {ort.__version__} providers={ort.get_available_providers()}", flush=True)
EOF

# Short epochs so a few-minute run still logs several validations; the time cap ends the run.
"$PY" -m covid_triage.train --data "phantoms=0:$SEEDS" --val-data "phantoms=$VAL_SEEDS" \
  --device "$DEVICE" --width "$WIDTH" --hidden "$HIDDEN" --minutes "$MINUTES" --lung-share 0.15 \
  --iters 40 --lung-iters 40 --gen-workers "$WORKERS" --model-id covid-triage-multitask-device-check \
  --version 0.0.0-device-check --out "$OUT" "$@" 2>&1 | tee "$OUT/train.log"

"$PY" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
import numpy as np

out = Path(sys.argv[1])
hist = json.loads((out / "train-log.json").read_text())["history"]
for stage in ("lungs", "multitask"):
    rows = [h for h in hist if h["stage"] == stage]
    if not rows:
        continue
    iters = sum(h["iters"] for h in rows)
    secs = sum(h["iters"] * h["s_per_iter"] for h in rows)
    peak = max((h.get("gpu_mem_peak_mib", 0) for h in rows), default=0)
    print(f"RESULT {stage}: epochs={len(rows)} iterations={iters} it_per_s={iters / max(secs, 1e-9):.2f} "
          f"gpu_mem_peak_mib={peak}")
    for h in rows:
        keys = ("val_lung_dice",) if stage == "lungs" else ("val_auc", "val_lesion_dice")
        print(f"  epoch {h['epoch']}: loss={h['loss']:.4f} " + " ".join(f"{k}={h[k]}" for k in keys))

import onnxruntime as ort
if "CUDAExecutionProvider" not in ort.get_available_providers():
    print("CUDAExecutionProvider not available: CUDA vs CPU comparison skipped")
    sys.exit(0)
rng = np.random.default_rng(0)
inputs = {"lungs.onnx": {"slice": rng.random((4, 1, 173, 181), dtype=np.float32)},
          "backbone_seg.onnx": {"slice": rng.random((4, 1, 97, 133), dtype=np.float32)},
          "cls_mlp.onnx": {"features": rng.normal(size=(1, 4680)).astype(np.float32)}}
for name, feed in inputs.items():
    cpu = ort.InferenceSession(str(out / name), providers=["CPUExecutionProvider"])
    gpu = ort.InferenceSession(str(out / name), providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    used = gpu.get_providers()[0]
    diffs = [float(np.abs(a - b).max()) for a, b in zip(cpu.run(None, feed), gpu.run(None, feed))]
    print(f"RESULT onnx {name}: provider={used} max_abs_diff_cuda_vs_cpu={max(diffs):.3g}")
EOF
