#!/usr/bin/env bash
# A real Kubernetes API server on 127.0.0.1, for the chart's server-side dry-run
# (scripts/k8s/dry-run.sh). kube-apiserver, kubectl and etcd are built from the Go module proxy:
# k8s.io/kubernetes with its staging modules replaced by the released ones (scripts/k8s/apiserver/go.mod),
# etcd's own command at the version Kubernetes pins. No scheduler, no controllers, no kubelet:
# nothing runs, objects are only validated, defaulted, admitted and (without dry-run) stored.
#
#   bash scripts/k8s/apiserver.sh build    # once: into $CACHE_DIR/k8s/bin (cold ~12 min on 2 cores, see docs)
#   bash scripts/k8s/apiserver.sh start    # etcd + kube-apiserver, waits for /readyz (~10 s); prints the kubeconfig
#   bash scripts/k8s/apiserver.sh stop     # stops what start started (by the pids it recorded)
#   bash scripts/k8s/apiserver.sh status
#   bash scripts/k8s/apiserver.sh crds     # KEDA's and prometheus-operator's CRDs, from their Go modules
#
# Ports: K8S_APISERVER_PORT (46443), K8S_ETCD_PORT (42379) and K8S_ETCD_PEER_PORT (42380), all on
# 127.0.0.1. State (etcd data, keys, logs, kubeconfig) lives in $CACHE_DIR/k8s/run and is wiped at start.
set -euo pipefail
# shellcheck source=../lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

K8S_MODULE_DIR="$REPO_ROOT/scripts/k8s/apiserver"
K8S_VERSION="$(awk '$1 == "k8s.io/kubernetes" {print $2}' "$K8S_MODULE_DIR/go.mod" | head -1)"
K8S_DIR="$CACHE_DIR/k8s"
K8S_BIN="$K8S_DIR/bin"
K8S_RUN="$K8S_DIR/run"
K8S_APISERVER_PORT="${K8S_APISERVER_PORT:-46443}"
K8S_ETCD_PORT="${K8S_ETCD_PORT:-42379}"
K8S_ETCD_PEER_PORT="${K8S_ETCD_PEER_PORT:-42380}"
KUBECONFIG_FILE="$K8S_RUN/kubeconfig"
# The CRDs come from the projects' own Go modules (their module zips hold the YAML).
KEDA_MODULE=github.com/kedacore/keda/v2@v2.21.1
KEDA_CRDS=(config/crd/bases/keda.sh_scaledobjects.yaml config/crd/bases/keda.sh_triggerauthentications.yaml)
PROMETHEUS_OPERATOR_MODULE=github.com/prometheus-operator/prometheus-operator@v0.85.0
PROMETHEUS_OPERATOR_CRDS=(example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml)

# What the binaries were built from: rebuilt whenever the module or the etcd wrapper changes.
build_key() {
  { cat "$K8S_MODULE_DIR/go.mod" "$K8S_MODULE_DIR/go.sum" "$K8S_MODULE_DIR/etcd/main.go" && go version; } 2>/dev/null |
    sha256sum | cut -c1-16
}

built() {
  [[ -x $K8S_BIN/kube-apiserver && -x $K8S_BIN/kubectl && -x $K8S_BIN/etcd ]] &&
    [[ "$(cat "$K8S_BIN/.key" 2>/dev/null)" == "$(build_key)" ]]
}

cmd_build() {
  if built; then
    log "kube-apiserver $K8S_VERSION: cached in $K8S_BIN"
    return 0
  fi
  command -v go >/dev/null || die "go is not installed: cannot build kube-apiserver"
  local t0
  t0=$(now_ms)
  log "building kube-apiserver, kubectl and etcd ($K8S_VERSION) from the Go module proxy into $K8S_BIN"
  mkdir -p "$K8S_BIN"
  (
    cd "$K8S_MODULE_DIR"
    # -mod=readonly: go.sum is committed; -trimpath and -s: smaller binaries, no local paths.
    GOFLAGS="-buildvcs=false -mod=readonly" go build -trimpath -ldflags=-s -o "$K8S_BIN/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl ./etcd
  )
  build_key >"$K8S_BIN/.key"
  log "built in $((($(now_ms) - t0) / 1000)) s: $(du -sh "$K8S_BIN" | cut -f1)"
}

kubectl_() { "$K8S_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

ready() {
  [[ -f $KUBECONFIG_FILE ]] && alive "$K8S_RUN/kube-apiserver.pid" &&
    curl -fsk --max-time 2 -H "Authorization: Bearer $(cat "$K8S_RUN/token")" \
      "https://127.0.0.1:$K8S_APISERVER_PORT/readyz" >/dev/null 2>&1
}

# Waits up to $2 seconds for "$1" (a command) to succeed, or dies showing the log $3.
wait_for() {
  local check=$1 seconds=$2 logfile=$3 i
  for ((i = 0; i < seconds * 4; i++)); do
    if eval "$check"; then return 0; fi
    sleep 0.25
  done
  tail -n 40 "$logfile" >&2 || true
  die "not ready after ${seconds} s: $check (log: $logfile)"
}

cmd_start() {
  if ready; then
    log "kube-apiserver already running on 127.0.0.1:$K8S_APISERVER_PORT"
    echo "$KUBECONFIG_FILE"
    return 0
  fi
  built || die "kube-apiserver is not built: bash scripts/k8s/apiserver.sh build"
  cmd_stop >/dev/null 2>&1 || true
  local t0
  t0=$(now_ms)
  rm -rf "$K8S_RUN" && mkdir -p "$K8S_RUN/etcd" "$K8S_RUN/certs"
  # The service-account signing key the API server insists on (no token is ever issued here),
  # and one static token: the only way in, with every request allowed (AlwaysAllow).
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$K8S_RUN/sa.key" 2>/dev/null
  head -c 24 /dev/urandom | base64 | tr -d '/+=' >"$K8S_RUN/token"
  printf '%s,dry-run,dry-run,system:masters\n' "$(cat "$K8S_RUN/token")" >"$K8S_RUN/tokens.csv"

  setsid "$K8S_BIN/etcd" --name dry-run --data-dir "$K8S_RUN/etcd" \
    --listen-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$K8S_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
    --initial-cluster "dry-run=http://127.0.0.1:$K8S_ETCD_PEER_PORT" \
    --listen-metrics-urls "" --log-level warn --quota-backend-bytes $((512 * 1024 * 1024)) \
    </dev/null >"$K8S_RUN/etcd.log" 2>&1 &
  echo $! >"$K8S_RUN/etcd.pid"
  wait_for "curl -fs --max-time 1 http://127.0.0.1:$K8S_ETCD_PORT/health >/dev/null" 30 "$K8S_RUN/etcd.log"

  # The service CIDR is only an allocation range for Service objects: nothing routes to it.
  setsid "$K8S_BIN/kube-apiserver" \
    --etcd-servers "http://127.0.0.1:$K8S_ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$K8S_APISERVER_PORT" \
    --cert-dir "$K8S_RUN/certs" \
    --token-auth-file "$K8S_RUN/tokens.csv" --anonymous-auth=false --authorization-mode AlwaysAllow \
    --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$K8S_RUN/sa.key" --service-account-signing-key-file "$K8S_RUN/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --endpoint-reconciler-type none \
    --enable-priority-and-fairness=false --profiling=false \
    </dev/null >"$K8S_RUN/kube-apiserver.log" 2>&1 &
  echo $! >"$K8S_RUN/kube-apiserver.pid"

  cat >"$KUBECONFIG_FILE" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: dry-run
    cluster:
      server: https://127.0.0.1:$K8S_APISERVER_PORT
      certificate-authority: $K8S_RUN/certs/apiserver.crt
users:
  - name: dry-run
    user:
      token: $(cat "$K8S_RUN/token")
contexts:
  - name: dry-run
    context: { cluster: dry-run, user: dry-run }
current-context: dry-run
EOF
  wait_for ready 120 "$K8S_RUN/kube-apiserver.log"
  # The default namespace exists once the API server's own controllers have run.
  wait_for "kubectl_ get namespace default >/dev/null 2>&1" 60 "$K8S_RUN/kube-apiserver.log"
  log "kube-apiserver $K8S_VERSION ready on https://127.0.0.1:$K8S_APISERVER_PORT in $((($(now_ms) - t0))) ms"
  echo "$KUBECONFIG_FILE"
}

cmd_stop() {
  local name pid
  for name in kube-apiserver etcd; do
    if alive "$K8S_RUN/$name.pid"; then
      pid="$(cat "$K8S_RUN/$name.pid")"
      kill "$pid"
      for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
      log "$name stopped"
    fi
    rm -f "$K8S_RUN/$name.pid"
  done
}

cmd_status() {
  if ready; then echo "kube-apiserver ready on 127.0.0.1:$K8S_APISERVER_PORT ($KUBECONFIG_FILE)"; else echo "kube-apiserver down"; fi
  if built; then echo "built: $K8S_BIN ($K8S_VERSION)"; else echo "not built"; fi
}

# Extracts files $3… of Go module $1 (path@version, downloaded and checksum-verified by the go
# command from the module proxy, once) into folder $2. Read from the module zip: the go command
# would not unpack a module that asks for a newer Go than this machine's, and only YAML is needed.
module_files() {
  local module=$1 target=$2 zip
  shift 2
  # It exits non-zero for a module that asks for a newer Go, after downloading and verifying the zip.
  zip="$(cd "$K8S_DIR" && { GOFLAGS= go mod download -json "$module" || true; } | sed -n 's/^\t"Zip": "\(.*\)",$/\1/p')"
  [[ -f $zip ]] || die "could not download the Go module $module"
  python3 - "$zip" "$module" "$target" "$@" <<'EOF'
import os, sys, zipfile
zip_path, module, target, *files = sys.argv[1:]
os.makedirs(target, exist_ok=True)
with zipfile.ZipFile(zip_path) as archive:
    for name in files:
        with archive.open(f"{module}/{name}") as source, open(os.path.join(target, os.path.basename(name)), "wb") as out:
            out.write(source.read())
EOF
}

cmd_crds() {
  ready || die "kube-apiserver is not running: bash scripts/k8s/apiserver.sh start"
  local crds="$K8S_DIR/crds"
  rm -rf "$crds"
  module_files "$KEDA_MODULE" "$crds" "${KEDA_CRDS[@]}"
  module_files "$PROMETHEUS_OPERATOR_MODULE" "$crds" "${PROMETHEUS_OPERATOR_CRDS[@]}"
  # Server-side apply: the ServiceMonitor CRD is too large for client-side apply's annotation.
  kubectl_ apply --server-side --force-conflicts -f "$crds" >&2
  kubectl_ wait --for condition=Established --timeout 60s \
    crd/scaledobjects.keda.sh crd/triggerauthentications.keda.sh crd/servicemonitors.monitoring.coreos.com >&2
  log "CRDs installed: ScaledObject, TriggerAuthentication ($KEDA_MODULE), ServiceMonitor ($PROMETHEUS_OPERATOR_MODULE)"
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  crds) cmd_crds ;;
  *) die "usage: $0 build|start|stop|status|crds" ;;
esac
