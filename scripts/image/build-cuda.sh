#!/usr/bin/env bash
# Builds the worker's CUDA image without Docker: the CPU image's five layers (build-cpu.sh
# builds or reuses them; a registry stores them once for both images) plus two layers from
# PyPI wheels, as an OCI layout in $CACHE_DIR/image/cuda/oci, tag <version>-cuda, with its SBOM
# and build.json beside it. Not run by CI (about 1.5 GB of wheels, minutes of gzip); no GPU
# is needed to build it. `bash scripts/image/build-cuda.sh`.
#
#   cuda-runtime  /usr/lib/x86_64-linux-gnu: CUDA 13 runtime, cuBLAS, cuRAND, cuFFT, NVRTC,
#                 nvJitLink and cuDNN 9 shared libraries from the nvidia-* wheels. That folder
#                 because the loader searches it with no ld.so.cache and no LD_LIBRARY_PATH
#                 (which GPU node setups such as GKE's overwrite); cuDNN and NVRTC dlopen their
#                 parts by name. libcuda.so.1 is the node's driver, mounted by the NVIDIA
#                 container toolkit: never in the image.
#   ort-cuda      onnxruntime-node's bin/napi-v6/linux/x64/: libonnxruntime_providers_cuda.so
#                 and _shared.so from the onnxruntime-gpu wheel of onnxruntime-node's version:
#                 exactly the files onnxruntime-node's own install script would fetch from NuGet
#                 (not reachable here) and put there. TensorRT's provider is left out (it
#                 needs TensorRT, which is not in the image).
#
# Why wheels: PyPI is the only place a closed network reaches that has the CUDA libraries
# (no NVIDIA apt repository, no container registry for nvidia/cuda base images). The wheels
# are pinned with hashes in cuda-requirements.txt and only their shared libraries and licences
# are used. INFERENCE_EXECUTION_PROVIDERS=cuda,cpu is the image's default.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$REPO_ROOT/scripts/lib/node.sh"
cd "$REPO_ROOT"

started=$(now_ms)
OUT="$IMAGE_CACHE/cuda"
REF="$IMAGE_VERSION-cuda"
WHEELS="$IMAGE_CACHE/wheels"
REQUIREMENTS="$REPO_ROOT/scripts/image/cuda-requirements.txt"
mkdir -p "$OUT" "$WHEELS"

# binutils: readelf, for the check that every library the providers need is in the image.
python3 -m pip --version >/dev/null 2>&1 || require_debian_packages python3-pip
require_debian_packages binutils

log "the CPU image's layers (build-cpu.sh)"
bash scripts/image/build-cpu.sh >/dev/null
use_node
mapfile -t cpu_layers < <(jq -r '.layers[]' "$IMAGE_CACHE/cpu/build.json")

onnxruntime_node_version=$(node -p 'require("./node_modules/onnxruntime-node/package.json").version')
grep -q "^onnxruntime-gpu==$onnxruntime_node_version " "$REQUIREMENTS" ||
  die "cuda-requirements.txt must pin onnxruntime-gpu==$onnxruntime_node_version (onnxruntime-node's version)"

# pip's ordinary download, for the platform of the image rather than of this machine: Python
# 3.11 manylinux x86_64 wheels (the libraries inside do not depend on the Python version).
log "PyPI wheels (cuda-requirements.txt, hashes checked)"
python3 -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes --only-binary=:all: \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
  --dest "$WHEELS" -r "$REQUIREMENTS"
wheel_of() { compgen -G "$WHEELS/$(sed 's/==.*//; s/-/_/g' <<<"$1")-$(sed 's/.*==//; s/ .*//' <<<"$1")-*.whl"; }
mapfile -t wheels < <(grep -E '^[a-z]' "$REQUIREMENTS" | while read -r requirement _; do wheel_of "$requirement"; done)

# Extracts the members of wheel $1 matching the regular expression $2 into folder $3, flat.
extract_from_wheel() {
  python3 - "$@" <<'EOF'
import re, shutil, sys, zipfile, os
wheel, pattern, target = sys.argv[1:4]
os.makedirs(target, exist_ok=True)
with zipfile.ZipFile(wheel) as archive:
    for member in archive.namelist():
        if re.search(pattern, member):
            with archive.open(member) as source, open(os.path.join(target, os.path.basename(member)), "wb") as out:
                shutil.copyfileobj(source, out)
EOF
}

wheel_name() { basename "$1" | cut -d- -f1-2; }

fill_cuda_runtime() {
  local wheel
  for wheel in "${wheels[@]}"; do
    [[ $(basename "$wheel") == nvidia_* ]] || continue
    # Every shared library but the two no one here calls (cuFFTW, NVBLAS).
    extract_from_wheel "$wheel" '^nvidia/[^/]+/lib/lib(?!cufftw|nvblas)[^/]+\.so[.0-9]*$' \
      "$1/usr/lib/x86_64-linux-gnu"
    extract_from_wheel "$wheel" '\.dist-info/licenses/' "$1/usr/share/doc/$(wheel_name "$wheel")"
  done
}

ORT_DIR=app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64
fill_ort_cuda() {
  local wheel
  wheel=$(wheel_of "onnxruntime-gpu==$onnxruntime_node_version")
  extract_from_wheel "$wheel" '^onnxruntime/capi/libonnxruntime_providers_(cuda|shared)\.so$' "$1/$ORT_DIR"
  extract_from_wheel "$wheel" '^onnxruntime/(LICENSE|ThirdPartyNotices\.txt)$' "$1/usr/share/doc/$(wheel_name "$wheel")"
}

requirements_key="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
cuda_layer=$(cached_layer cuda-runtime "$requirements_key" fill_cuda_runtime)
ort_cuda_layer=$(cached_layer ort-cuda "$requirements_key" fill_ort_cuda)

# Every library the CUDA provider loads must resolve inside the image, except the driver's
# libcuda.so.1: checked on the layer trees with readelf, since no GPU (and no shell in the
# image) is needed for that.
log "checking the CUDA provider's library dependencies"
search_dirs=("$IMAGE_CACHE/tree/os/lib/x86_64-linux-gnu" "$IMAGE_CACHE/tree/os/usr/lib/x86_64-linux-gnu"
  "$IMAGE_CACHE/tree/cuda-runtime/usr/lib/x86_64-linux-gnu" "$IMAGE_CACHE/tree/ort-cuda/$ORT_DIR"
  "$IMAGE_CACHE/tree/node_modules/$ORT_DIR")
missing=()
for library in "$IMAGE_CACHE/tree/ort-cuda/$ORT_DIR"/*.so "$IMAGE_CACHE/tree/cuda-runtime/usr/lib/x86_64-linux-gnu"/*.so*; do
  for needed in $(readelf -d "$library" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    [[ $needed == libcuda.so.1 ]] && continue
    found=""
    for dir in "${search_dirs[@]}"; do [[ -e $dir/$needed ]] && found=1 && break; done
    [[ -n $found ]] || missing+=("$(basename "$library") needs $needed")
  done
done
((${#missing[@]} == 0)) || die "libraries missing from the CUDA image: ${missing[*]}"

revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- apps libs package.json 2>/dev/null || revision="$revision-dirty"
layer_args=()
for layer in "${cpu_layers[@]}"; do
  layer_args+=(--layer "$layer=$(basename "$layer" | sed 's/-[0-9a-f]*\.tar\.gz$//'): as in the CPU image")
done
layout_summary=$(node scripts/image/oci-layout.mjs --layout "$OUT/oci" --ref "$REF" --dockerfile Dockerfile \
  --env PATH=/usr/local/bin:/usr/bin:/bin \
  --env INFERENCE_EXECUTION_PROVIDERS=cuda,cpu \
  --env NVIDIA_DRIVER_CAPABILITIES=compute,utility \
  --label org.opencontainers.image.title="$IMAGE_NAME" \
  --label org.opencontainers.image.version="$REF" \
  --label org.opencontainers.image.revision="$revision" \
  --label org.opencontainers.image.description="COVID-19 chest CT triage worker (CUDA 13, cuDNN 9). Not for clinical use." \
  "${layer_args[@]}" \
  --layer "$cuda_layer=cuda-runtime: CUDA 13 and cuDNN 9 libraries from the nvidia-* PyPI wheels" \
  --layer "$ort_cuda_layer=ort-cuda: onnxruntime-gpu $onnxruntime_node_version's CUDA provider for onnxruntime-node")
manifest_digest=$(jq -r .manifest <<<"$layout_summary")
umoci stat --image "$OUT/oci:$REF" >/dev/null || die "umoci cannot read the image layout just written"

wheel_args=()
for wheel in "${wheels[@]}"; do wheel_args+=(--wheel "$wheel"); done
node scripts/image/sbom.mjs --name "$IMAGE_NAME" --version "$REF" --image-digest "$manifest_digest" \
  --os-tree "$IMAGE_CACHE/tree/os" --npm-lock "$IMAGE_CACHE/tree/node_modules/app/node_modules/.package-lock.json" \
  --node-version "$NODE_VERSION" --models-tree "$IMAGE_CACHE/tree/models/models" "${wheel_args[@]}" \
  --out "$OUT/sbom.spdx.json" >/dev/null

compressed=0 unpacked=0
for layer in "${cpu_layers[@]}" "$cuda_layer" "$ort_cuda_layer"; do
  compressed=$((compressed + $(stat -c %s "$layer")))
  # gzip -l wraps at 4 GiB; the trailer's size is the same modulo, which no layer here reaches.
  unpacked=$((unpacked + $(gzip -l "$layer" | awk 'NR == 2 {print $2}')))
done
build_ms=$(($(now_ms) - started))
jq -n --arg ref "$IMAGE_NAME:$REF" --arg layout "$OUT/oci" --arg manifest "$manifest_digest" \
  --argjson compressed "$compressed" --argjson unpacked "$unpacked" --argjson ms "$build_ms" \
  '{ref: $ref, layout: $layout, manifest: $manifest, compressedLayerBytes: $compressed,
    unpackedLayerBytes: $unpacked, buildMs: $ms}' >"$OUT/build.json"
log "built $IMAGE_NAME:$REF $manifest_digest in $((build_ms / 1000)) s:" \
  "$((compressed / 1048576)) MiB compressed, $((unpacked / 1048576)) MiB unpacked; SBOM $OUT/sbom.spdx.json"
cat "$OUT/build.json"
