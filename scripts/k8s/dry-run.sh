#!/usr/bin/env bash
# Renders the chart with each values file and applies the result with server-side dry-run to the
# real kube-apiserver of scripts/k8s/apiserver.sh: every object is decoded, defaulted, validated
# (strict: an unknown field is an error), and admitted as if installed, then discarded.
#
#   bash scripts/k8s/dry-run.sh                      # every charts/covid-ct-triage/ci/*-values.yaml
#   bash scripts/k8s/dry-run.sh path/to/values.yaml  # these only
#   bash scripts/k8s/dry-run.sh --manifest file.yaml # an already rendered manifest
#
# Builds the API server if needed (see apiserver.sh build), starts it when it is not running
# (and then stops it at the end), installs the KEDA and ServiceMonitor CRDs, creates the namespace.
# One line per values file: `dry-run ok <file>: <kinds>` or `dry-run FAILED <file>` with the
# server's answer; exits 1 if any failed.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# shellcheck source=../lib/helm.sh
source "$REPO_ROOT/scripts/lib/helm.sh"

CHART="$REPO_ROOT/charts/covid-ct-triage"
NAMESPACE="${K8S_DRY_RUN_NAMESPACE:-triage}"
APISERVER=(bash "$REPO_ROOT/scripts/k8s/apiserver.sh")
KUBECONFIG_FILE="$CACHE_DIR/k8s/run/kubeconfig"
KUBECTL="$CACHE_DIR/k8s/bin/kubectl"
K8S_VERSION="$(awk '$1 == "k8s.io/kubernetes" {print $2}' "$REPO_ROOT/scripts/k8s/apiserver/go.mod" | head -1)"

manifests=()
values=()
while (($#)); do
  case $1 in
    --manifest) manifests+=("$2") && shift 2 ;;
    *) values+=("$1") && shift ;;
  esac
done
if ((${#values[@]} == 0 && ${#manifests[@]} == 0)); then values=("$CHART"/ci/*-values.yaml); fi

ensure_helm
"${APISERVER[@]}" build
started=""
if [[ "$("${APISERVER[@]}" status)" != "kube-apiserver ready"* ]]; then
  "${APISERVER[@]}" start >/dev/null
  started=1
fi
cleanup() { if [[ -n $started ]]; then "${APISERVER[@]}" stop; fi; }
trap cleanup EXIT
"${APISERVER[@]}" crds
kubectl_() { "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
kubectl_ get namespace "$NAMESPACE" >/dev/null 2>&1 || kubectl_ create namespace "$NAMESPACE" >/dev/null

work="$(mktemp -d)"
trap 'cleanup; rm -rf "$work"' EXIT
failed=0

# Applies manifest $2 (named $1 in the report) with server-side dry-run and strict field validation.
dry_run() {
  local name=$1 manifest=$2 t0 kinds
  t0=$(now_ms)
  if kubectl_ apply --dry-run=server --validate=strict -n "$NAMESPACE" -f "$manifest" >"$work/out" 2>&1; then
    kinds="$(sed -n 's/^kind: //p' "$manifest" | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}')"
    echo "dry-run ok $name: $kinds ($(($(now_ms) - t0)) ms)"
  else
    echo "dry-run FAILED $name:"
    sed 's/^/  /' "$work/out"
    failed=1
  fi
}

for file in "${values[@]}"; do
  rendered="$work/$(basename "$file" .yaml).rendered.yaml"
  if ! helm template triage "$CHART" --namespace "$NAMESPACE" --kube-version "${K8S_VERSION#v}" \
    -f "$file" >"$rendered" 2>"$work/helm.err"; then
    echo "dry-run FAILED $file: helm template refused it"
    sed 's/^/  /' "$work/helm.err"
    failed=1
    continue
  fi
  dry_run "$file" "$rendered"
done
for manifest in "${manifests[@]}"; do dry_run "$manifest" "$manifest"; done
exit "$failed"
