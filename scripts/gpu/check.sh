#!/usr/bin/env bash
# The GPU check (issue 13): the worker's inference library (onnxruntime-node) with the CUDA
# provider on a real CT series, against the CPU provider on the same input, for two model sets:
#   demo        the shipped demonstration set (width 0.25);
#   paper-size  the multitask network at the paper's width 1.0 (random weights, exported here with
#               PyTorch by export_paper_size.py) beside the demo's trained lung network.
# Prints per-study time and slices/s of both providers, the CPU/GPU differences, and one
# `RESULT <set> ok|FAILED …` line each; exits 1 when a tolerance is exceeded or the CUDA provider
# did not load (onnxruntime-node would have fallen back to the CPU).
#
#   bash scripts/gpu/check.sh [SERIES_DIR]     # default ../shared/data/covid-ct-md/P001
#   GPU_CHECK_PROVIDERS=cpu bash scripts/gpu/check.sh   # the CPU half only: checks the plumbing anywhere
#   GPU_CHECK_SETS=demo, GPU_CHECK_RUNS=3 (timed GPU studies), GPU_CHECK_CPU_RUNS=1, GPU_CHECK_WARMUPS=1
#   (untimed studies first, on each side),
#   GPU_CHECK_OUT (work folder, default $CACHE_DIR/gpu-check), PYTHON (default python3)
#
# Tolerances (CPU vs CUDA, same input): |Δ COVID-19 probability| ≤ 0.005 and Dice ≥ 0.99 for
# each mask (right lung, left lung, lesion) on the demo set; 0.01 and 0.98 on the paper-size set;
# and for both the backbone graph's raw outputs on one input: max |Δ| ≤ 1 % of the CPU output's
# largest magnitude (the paper-size set's random backbone marks every lung voxel as lesion, so
# only its raw outputs can show a difference). Why not equality: cuDNN picks
# other convolution algorithms (and TF32 on Ampere or newer), so sums round differently and a
# voxel within ~1e-3 of a threshold may flip.
#
# Needs: this checkout with Node and node_modules set up (npm ci; scripts/lib/node.sh), python3
# with torch (and onnx) for the paper-size export, an NVIDIA driver >= 580 (CUDA 13). Nothing is
# downloaded when what it needs is here already; the CUDA provider is put where onnxruntime-node's
# own install script would (node_modules/onnxruntime-node/bin/napi-v6/linux/x64), as the CUDA image
# does (scripts/image/build-cuda.sh), taken from the first of:
#   1. the CUDA image build's layer tree ($CACHE_DIR/image/tree/ort-cuda), already there;
#   2. the onnxruntime-gpu wheel of onnxruntime-node's version in $CACHE_DIR/image/wheels or
#      $GPU_CHECK_WHEELS (carry it to a machine that reaches no registry);
#   3. pip download of that wheel, hash-pinned in scripts/image/cuda-requirements.txt.
# The CUDA 13 / cuDNN 9 libraries it needs, from the first of: the image build's cuda-runtime tree;
# the nvidia-* packages of python3's environment (PyTorch's CUDA 13 wheels bring them); the
# nvidia-* wheels of cuda-requirements.txt (in the wheel folders above, or pip download).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/node.sh"
cd "$REPO_ROOT"

series="${1:-$REPO_ROOT/../shared/data/covid-ct-md/P001}"
providers="${GPU_CHECK_PROVIDERS:-cuda,cpu}"
PY="${PYTHON:-python3}"
work="${GPU_CHECK_OUT:-$CACHE_DIR/gpu-check}"
REQUIREMENTS="$REPO_ROOT/scripts/image/cuda-requirements.txt"
WHEEL_DIRS=("$CACHE_DIR/image/wheels")
[[ -n ${GPU_CHECK_WHEELS:-} ]] && WHEEL_DIRS=("$GPU_CHECK_WHEELS" "${WHEEL_DIRS[@]}")
ORT_DIR="node_modules/onnxruntime-node/bin/napi-v6/linux/x64"
mkdir -p "$work"

[[ -d $series ]] || die "real CT sample data not found at $series"
use_node
[[ -f $ORT_DIR/onnxruntime_binding.node ]] || die "onnxruntime-node is not installed: npm ci first"
[[ -f dist/libs/inference/src/index.js ]] || npm run --silent build >/dev/null
ort_version=$(node -p 'require("onnxruntime-node/package.json").version')

# The wheel of requirement "$1" (name==version) from a wheel folder, or downloaded (hash-checked).
wheel_for() {
  local requirement=$1 name version dir found
  name=$(sed 's/==.*//; s/-/_/g' <<<"$requirement")
  version=$(sed 's/.*==//' <<<"$requirement")
  for dir in "${WHEEL_DIRS[@]}"; do
    found=$(compgen -G "$dir/$name-$version-*.whl" | head -1) && { echo "$found"; return 0; }
  done
  log "downloading $requirement (hash-pinned in cuda-requirements.txt)"
  mkdir -p "$CACHE_DIR/image/wheels"
  grep "^$requirement " "$REQUIREMENTS" >"$work/requirement.txt" || die "$requirement is not in cuda-requirements.txt"
  "$PY" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
    --dest "$CACHE_DIR/image/wheels" -r "$work/requirement.txt" >&2 ||
    die "no $requirement wheel here and none could be downloaded: put it in GPU_CHECK_WHEELS"
  compgen -G "$CACHE_DIR/image/wheels/$name-$version-*.whl" | head -1
}

# Members of wheel $1 matching the regular expression $2, flat into folder $3 (as build-cuda.sh).
extract_from_wheel() {
  "$PY" - "$@" <<'EOF'
import os, re, shutil, sys, zipfile
wheel, pattern, target = sys.argv[1:4]
os.makedirs(target, exist_ok=True)
with zipfile.ZipFile(wheel) as archive:
    for member in archive.namelist():
        if re.search(pattern, member):
            with archive.open(member) as source, open(os.path.join(target, os.path.basename(member)), "wb") as out:
                shutil.copyfileobj(source, out)
EOF
}

if [[ $providers == cuda* ]]; then
  log "GPU: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"

  log "the CUDA provider for onnxruntime-node $ort_version"
  if [[ ! -f $ORT_DIR/libonnxruntime_providers_cuda.so ]]; then
    tree="$CACHE_DIR/image/tree/ort-cuda/app/$ORT_DIR"
    if [[ -f $tree/libonnxruntime_providers_cuda.so ]]; then
      log "from the CUDA image's layer tree ($tree)"
      cp "$tree"/libonnxruntime_providers_{cuda,shared}.so "$ORT_DIR/"
    else
      wheel=$(wheel_for "onnxruntime-gpu==$ort_version")
      log "from $(basename "$wheel")"
      extract_from_wheel "$wheel" '^onnxruntime/capi/libonnxruntime_providers_(cuda|shared)\.so$' "$ORT_DIR"
    fi
  fi

  log "the CUDA 13 and cuDNN 9 libraries"
  libs=()
  if [[ -d $CACHE_DIR/image/tree/cuda-runtime/usr/lib/x86_64-linux-gnu ]]; then
    libs=("$CACHE_DIR/image/tree/cuda-runtime/usr/lib/x86_64-linux-gnu")
  else
    # The nvidia-* packages of python3's environment (namespace package `nvidia`), where present.
    mapfile -t libs < <("$PY" -c '
import glob, os
try:
    import nvidia
except ImportError:
    raise SystemExit(0)
for root in nvidia.__path__:
    for lib in sorted(glob.glob(os.path.join(root, "*", "lib"))) + sorted(glob.glob(os.path.join(root, "cu13", "lib"))):
        print(lib)' 2>/dev/null || true)
  fi
  export LD_LIBRARY_PATH="$(IFS=:; echo "${libs[*]}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  missing=$(LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$ORT_DIR" ldd "$ORT_DIR/libonnxruntime_providers_cuda.so" |
    awk '/not found/ {print $1}' | grep -v '^libcuda\.so' || true)
  if [[ -n $missing ]]; then
    # Not all there: the nvidia-* wheels the CUDA image uses (cuda-requirements.txt).
    log "missing here: $(echo $missing); taking the CUDA image's nvidia-* wheels"
    cuda_libs="$work/cuda-libs"
    while read -r requirement _; do
      extract_from_wheel "$(wheel_for "$requirement")" '^nvidia/[^/]+/lib/lib[^/]+\.so[.0-9]*$' "$cuda_libs"
    done < <(grep -E '^nvidia-' "$REQUIREMENTS")
    export LD_LIBRARY_PATH="$cuda_libs:$LD_LIBRARY_PATH"
    missing=$(LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$ORT_DIR" ldd "$ORT_DIR/libonnxruntime_providers_cuda.so" |
      awk '/not found/ {print $1}' || true)
    [[ -z $missing ]] || die "the CUDA provider still misses: $(echo $missing)"
  fi
  ldd "$ORT_DIR/libonnxruntime_providers_cuda.so" | grep -q 'libcuda.so.1 => /' ||
    die "no NVIDIA driver (libcuda.so.1) on this machine"
  allow_cpu=()
else
  log "providers '$providers': the CPU half only (no CUDA provider installed, nothing compared but CPU with itself)"
  allow_cpu=(--allow-cpu)
fi

sets="${GPU_CHECK_SETS:-demo paper-size}"
status=0
if [[ " $sets " == *" demo "* ]]; then
  log "demo set (width 0.25) on $series"
  node scripts/gpu/check.mjs --series "$series" --manifest models/covid-triage-demo/manifest.json --label demo \
    --providers "$providers" --runs "${GPU_CHECK_RUNS:-3}" --cpu-runs "${GPU_CHECK_CPU_RUNS:-1}" --warmups "${GPU_CHECK_WARMUPS:-1}" \
    --tolerance-probability 0.005 --tolerance-dice 0.99 "${allow_cpu[@]}" || status=1
fi
if [[ " $sets " == *" paper-size "* ]]; then
  log "the paper-size (width 1.0) model set, exported with PyTorch"
  if [[ ! -f $work/paper-size/manifest.json ]]; then
    "$PY" scripts/gpu/export_paper_size.py "$work/paper-size" models/covid-triage-demo
  fi
  log "paper-size set (width 1.0) on $series"
  node scripts/gpu/check.mjs --series "$series" --manifest "$work/paper-size/manifest.json" --label paper-size \
    --providers "$providers" --runs "${GPU_CHECK_RUNS:-3}" --cpu-runs "${GPU_CHECK_CPU_RUNS:-1}" --warmups "${GPU_CHECK_WARMUPS:-1}" \
    --tolerance-probability 0.01 --tolerance-dice 0.98 "${allow_cpu[@]}" || status=1
fi
exit "$status"
