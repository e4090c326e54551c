# What the image scripts share. Source it; never run it.
# Everything they download or build lives under $CACHE_DIR/image (git-ignored).
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

IMAGE_CACHE="$CACHE_DIR/image"
mkdir -p "$IMAGE_CACHE"

# One fixed timestamp for every file, layer and the image config, so that the same inputs
# give the same layer digests (a registry then stores an unchanged layer once). 0, as ko and
# distroless do: the commit time would change the digests of unchanged layers on every commit.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"

IMAGE_NAME=covid-ct-triage
IMAGE_VERSION="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$REPO_ROOT/package.json")"

# Installs the Debian packages named that are missing, the way scripts/provision.sh does.
require_debian_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# Writes the tree under $1 as an uncompressed layer tar $2 that depends only on the tree's
# content: sorted names, owner root, one mtime, no atime/ctime. Modes are normalised first:
# nothing in the image is writable except by root, and the image runs as 10001 anyway.
layer_tar() {
  local tree=$1 out=$2
  chmod -R u+rwX,go+rX,go-w "$tree"
  # /tmp is the one place the worker writes (a volume at run time); keep the sticky bit.
  [[ -d $tree/tmp ]] && chmod 1777 "$tree/tmp"
  (
    cd "$tree"
    # shellcheck disable=SC2046 # the top-level names, sorted; none has spaces
    tar --create --file="$out" --format=posix --sort=name --numeric-owner --owner=0 --group=0 \
      --mtime="@$SOURCE_DATE_EPOCH" --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
      $(LC_ALL=C ls -A)
  )
}

# Builds layer $1 (a name) once per cache key $2 by running "$3 <tree>" to fill a fresh tree
# ($IMAGE_CACHE/tree/<name>, kept: the SBOM reads it), then tar + gzip (-n: no name or time in
# the header). Prints the path of the .tar.gz; its uncompressed digest (the OCI diff_id) is
# beside it in .diffid.
cached_layer() {
  local name=$1 key=$2 fill=$3
  local dir="$IMAGE_CACHE/layers" tree="$IMAGE_CACHE/tree/$name" hash
  hash="$(printf '%s' "$key" | sha256sum | cut -c1-16)"
  local out="$dir/$name-$hash.tar.gz"
  mkdir -p "$dir"
  if [[ -f $out && -f $out.diffid && "$(cat "$tree.key" 2>/dev/null)" == "$hash" ]]; then
    log "layer $name: cached ($(basename "$out"))"
  else
    rm -rf "$tree" "$tree.key" && mkdir -p "$tree"
    "$fill" "$tree"
    layer_tar "$tree" "$dir/$name.tar"
    sha256sum "$dir/$name.tar" | cut -d' ' -f1 >"$out.diffid.tmp"
    gzip -n -6 <"$dir/$name.tar" >"$out.tmp"
    rm -f "$dir/$name.tar" "$dir/$name"-*.tar.gz "$dir/$name"-*.tar.gz.diffid
    mv "$out.tmp" "$out" && mv "$out.diffid.tmp" "$out.diffid"
    printf '%s\n' "$hash" >"$tree.key"
    log "layer $name: built, $(du -h "$out" | cut -f1) compressed"
  fi
  printf '%s\n' "$out"
}
