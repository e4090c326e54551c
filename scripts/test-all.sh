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
use_node24

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

step "local stack"
# Stop at the end only the services this run started; a developer's stack stays up.
already_up=$(bash scripts/stack/stack.sh status | awk '$2 == "ready" {print $1}')
stop_started() {
  for svc in kafka orthanc fhir; do
    grep -qx "$svc" <<<"$already_up" || bash scripts/stack/stack.sh down "$svc" || true
  done
}
trap stop_started EXIT
stack_t0=$(now_ms)
bash scripts/stack/stack.sh up
log "stack up in $(($(now_ms) - stack_t0)) ms"
bash scripts/stack/stack.sh status

step "integration tests"
npx vitest run --project integration --reporter=default --reporter=json --outputFile="$reports/integration.json"

# One closing line that any CI reads: totals over both runs.
node -e '
  const files = process.argv.slice(1).map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
  const sum = (k) => files.reduce((n, r) => n + r[k], 0);
  console.log(`${sum("numPassedTests")} passed, ${sum("numFailedTests")} failed, ${sum("numPendingTests") + sum("numTodoTests")} skipped`);
' "$reports/unit.json" "$reports/integration.json"
log "all checks passed in $((($(now_ms) - t0) / 1000)) s"
