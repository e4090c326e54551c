# Finds or builds `helm` for the chart test. Source it, or run `bash scripts/lib/helm.sh install`.
# Helm is a Go module: without a helm on PATH, `go install` builds it from the Go module
# proxy into CACHE_DIR (about 400 MB of modules and several minutes on 2 cores, once).
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HELM_VERSION=v3.22.0
HELM_BIN_DIR="$CACHE_DIR/helm/bin"

ensure_helm() {
  if command -v helm >/dev/null; then return 0; fi
  if [[ ! -x $HELM_BIN_DIR/helm ]]; then
    command -v go >/dev/null || die "neither helm nor go is installed: cannot check the Helm chart"
    log "building helm $HELM_VERSION from the Go module proxy into $HELM_BIN_DIR"
    GOBIN="$HELM_BIN_DIR" GOFLAGS=-buildvcs=false go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  fi
  export PATH="$HELM_BIN_DIR:$PATH"
}

# `bash scripts/lib/helm.sh install` builds it once, for the chart test to find.
if [[ ${BASH_SOURCE[0]} == "$0" && ${1:-} == install ]]; then
  ensure_helm
  helm version
fi
