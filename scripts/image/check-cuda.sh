#!/usr/bin/env bash
# Checks the CUDA image (build-cuda.sh) as far as a machine without a GPU can, with runc:
#   1. no driver: onnxruntime-node, asked for the CUDA provider, finds the provider library and
#      fails on libcuda.so.1 alone (the driver the NVIDIA container toolkit mounts on a GPU
#      node): every other library (cuDNN, cuBLAS, the CUDA runtime) resolves inside the image;
#   2. a stand-in driver (every entry point answers "no device"), compiled here with gcc: the
#      provider loads through onnxruntime-node's provider bridge (the wheel and the npm package
#      are one release) and the CUDA execution provider starts, up to cudaSetDevice.
# The worker in this image (cuda,cpu falling back to the CPU without a GPU) is what
# TRIAGE_TEST_IMAGE=cuda npx vitest run test/integration/container-image.spec.ts checks.
# What it cannot show is a model running on a GPU: that needs a GPU node (docs/gpu.md).
# Needs root (run.sh) and about 3 GB of disk for the unpacked rootfs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_ROOT"

LAYOUT="$IMAGE_CACHE/cuda/oci"
REF="$IMAGE_VERSION-cuda"
[[ -f $LAYOUT/index.json ]] || die "no CUDA image at $LAYOUT: run npm run image:build:cuda first"
require_debian_packages gcc

# One CUDA session on the demo model's lung network; prints how it ended.
probe='const ort = require("onnxruntime-node");
ort.InferenceSession.create("/models/covid-triage-demo/lungs.onnx", { executionProviders: ["cuda"] }).then(
  () => console.log("RESULT CUDA session created"),
  (error) => console.log("RESULT", error.message.replace(/\s+/g, " ")));'
# Its output and onnxruntime's own log lines (which name the library that failed to load).
run_probe() { bash scripts/image/run.sh --layout "$LAYOUT" --ref "$REF" "$@" -- node -e "$probe" 2>&1 | grep -E 'RESULT|Failed to load'; }

log "1. no driver"
result=$(run_probe --name cuda-check-no-driver)
log "$result"
grep -q 'libonnxruntime_providers_cuda.so with error: libcuda.so.1: cannot open' <<<"$result" ||
  die "expected the CUDA provider to fail on libcuda.so.1 only"

log "2. a stand-in driver"
stub="$IMAGE_CACHE/cuda-driver-stub"
mkdir -p "$stub"
# The driver functions the provider links to directly, plus those the CUDA runtime looks up first.
symbols=$(nm -D --undefined-only "$IMAGE_CACHE/tree/ort-cuda/app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so" |
  awk '$2 ~ /^cu[A-Z]/ {sub(/@.*/, "", $2); print $2}')
for symbol in $symbols cuInit cuDriverGetVersion cuGetProcAddress cuGetProcAddress_v2 cuGetExportTable; do
  echo "int $symbol(void) { return 100; /* CUDA_ERROR_NO_DEVICE */ }"
done | sort -u >"$stub/stub.c"
gcc -shared -fPIC -nostdlib -o "$stub/libcuda.so.1" -Wl,-soname,libcuda.so.1 "$stub/stub.c"
result=$(run_probe --name cuda-check-stub --mount "$stub:/tmp/driver" -e LD_LIBRARY_PATH=/tmp/driver)
log "$result"
grep -q 'CUDA failure 35: CUDA driver version is insufficient' <<<"$result" ||
  die "expected the CUDA provider to start and stop at the stand-in driver"

log "done: the CUDA image's provider resolves and starts; only a GPU is missing here"
