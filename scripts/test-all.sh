#!/usr/bin/env bash
# Sets up a machine and runs every check and test, integration tests included,
# against real servers started here. The README's test command; CI runs it too.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/node.sh"
cd "$REPO_ROOT"

step() { log "== $*"; }
t0=$(now_ms)

step provision
bash scripts/provision.sh
use_node

step "static checks: format, lint, types, event schemas"
npx prettier --check . >/dev/null || { npx prettier --check . || true; die "formatting differs: run npm run format"; }
npm run --silent lint
npm run --silent typecheck
npx buf lint
# The generated event code must match proto/: regenerate and compare with what is committed.
npx buf generate
git diff --quiet -- libs/messaging/src/generated ||
  die "libs/messaging/src/generated is stale: run npm run proto:generate and commit"

step build
npm run --silent build

step "unit tests"
reports="$CACHE_DIR/test-reports"
mkdir -p "$reports"
npx vitest run --project unit --reporter=default --reporter=json --outputFile="$reports/unit.json"

step "training package (PyTorch on CPU): networks, pyramid pooling, phantoms, ONNX export"
VENV_TRAIN="$CACHE_DIR/venv-train" bash training/setup-venv.sh
(cd training && "$CACHE_DIR/venv-train/bin/python" -m pytest -q -p no:cacheprovider --junitxml="$reports/training.xml")

step "local stack"
# Stop at the end only the services this run started; a developer's stack stays up.
already_up=$(bash scripts/stack/stack.sh status | awk '$2 == "ready" {print $1}')
stop_started() {
  for svc in kafka orthanc auth fhir; do
    grep -qx "$svc" <<<"$already_up" || bash scripts/stack/stack.sh down "$svc" || true
  done
}
trap stop_started EXIT
stack_t0=$(now_ms)
bash scripts/stack/stack.sh up
log "stack up in $(($(now_ms) - stack_t0)) ms"
bash scripts/stack/stack.sh status

step "helm (for the chart test), from the Go module proxy"
# Not a hard requirement: without Go the chart test says so and skips its rendering cases.
if command -v helm >/dev/null || command -v go >/dev/null; then
  bash scripts/lib/helm.sh install
else
  log "neither helm nor go on this machine: the Helm chart rendering tests will skip"
fi

step "kube-apiserver, kubectl and etcd for the chart's server-side dry-run, from the Go module proxy"
# chart-dry-run.spec.ts applies every charts/*/ci/*-values.yaml to it. Cached in .cache/k8s/bin;
# see docs/deploying.md for cold and warm times. Without Go the dry-run test says so and skips.
if command -v go >/dev/null; then
  k8s_t0=$(now_ms)
  bash scripts/k8s/apiserver.sh build
  log "kube-apiserver build step: $((($(now_ms) - k8s_t0) / 1000)) s"
else
  log "go is not installed: the chart's API-server dry-run test will skip"
fi

step "container image (CPU), built without Docker; container-image.spec.ts runs it with runc"
# About 75 s cold and 10 s warm on two cores (layers cached under .cache/image).
bash scripts/image/build-cpu.sh

step "integration tests"
npx vitest run --project integration --reporter=default --reporter=json --outputFile="$reports/integration.json"

step "fault tests: servers stopped and restarted, workers killed, a hundred studies (docs/reliability.md)"
rm -f "$reports/faults.jsonl"
npx vitest run --project faults --reporter=default --reporter=json --outputFile="$reports/faults.json"
node scripts/lib/fault-table.mjs "$reports/faults.jsonl"

# One closing line that any CI reads: totals over the Vitest runs and pytest.
node -e '
  const fs = require("fs");
  const [junit, ...vitest] = process.argv.slice(1);
  const runs = vitest.map((f) => JSON.parse(fs.readFileSync(f, "utf8")));
  const sum = (k) => runs.reduce((n, r) => n + r[k], 0);
  const suite = fs.readFileSync(junit, "utf8").match(/<testsuite [^>]*>/)[0];
  const attr = (name) => Number(suite.match(new RegExp(` ${name}="(\\d+)"`))[1]);
  const pyFailed = attr("failures") + attr("errors");
  const pySkipped = attr("skipped");
  const passed = sum("numPassedTests") + attr("tests") - pyFailed - pySkipped;
  const failed = sum("numFailedTests") + pyFailed;
  console.log(`${passed} passed, ${failed} failed, ${sum("numPendingTests") + sum("numTodoTests") + pySkipped} skipped`);
' "$reports/training.xml" "$reports/unit.json" "$reports/integration.json" "$reports/faults.json"
log "all checks passed in $((($(now_ms) - t0) / 1000)) s"
