#!/usr/bin/env bash
# Starts, stops and reports the local test stack: real servers on 127.0.0.1, no Docker.
#   stack.sh up|down|resume|status|env [service...]     (services: auth kafka orthanc fhir)
# up starts a server afresh where it would keep state (Kafka); resume starts a stopped one on
# the state it had (the fault tests: a broker restarted keeps its topics and offsets).
# Each service lives in services/<name>.sh and defines:
#   svc_<name>_prepare   download/build what it needs, cached and idempotent
#   svc_<name>_launch    start the server with `stack_spawn <name> <cmd...>`
#   svc_<name>_ready     one readiness probe (exit 0 when really ready)
#   svc_<name>_env       print `KEY=value` lines clients need to reach it
#   <NAME>_READY_TIMEOUT seconds to wait for readiness (optional, default 120)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"
# The stack CA that signs every TLS server's certificate (STACK_TLS_CA_FILE).
source "$(dirname "${BASH_SOURCE[0]}")/lib/tls.sh"

STACK_DIR="$CACHE_DIR/stack"
STACK_LOGS="$STACK_DIR/logs"
STACK_RUN="$STACK_DIR/run"
mkdir -p "$STACK_LOGS" "$STACK_RUN"
# The authorization server first: Kafka's OAUTHBEARER listener fetches its JWKS at start-up, and
# HAPI's secured port checks its tokens.
ALL_SERVICES=(auth kafka orthanc fhir)

for f in "$(dirname "${BASH_SOURCE[0]}")"/services/*.sh; do source "$f"; done

# The pid file holds "<pid> <start-time>" so that a recycled pid is never mistaken
# for ours, and stop only ever signals processes this script started.
proc_start_time() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }

stack_pid() {
  local file="$STACK_RUN/$1.pid" pid started
  [[ -f $file ]] || return 1
  read -r pid started <"$file"
  [[ -n ${pid:-} && "$(proc_start_time "$pid")" == "$started" ]] || return 1
  echo "$pid"
}

# Runs a server in its own session (so stop can signal the whole process group),
# detached from the caller, logging to $STACK_LOGS/<name>.log.
stack_spawn() {
  local name=$1; shift
  local logfile="$STACK_LOGS/$name.log"
  echo "=== $(date -Is) starting: $*" >>"$logfile"
  setsid nohup "$@" >>"$logfile" 2>&1 </dev/null &
  local pid=$!
  sleep 0.2
  echo "$pid $(proc_start_time "$pid")" >"$STACK_RUN/$name.pid"
}

wait_ready() {
  local name=$1 timeout_var="${1^^}_READY_TIMEOUT"
  local timeout=${!timeout_var:-120} start=$SECONDS
  until "svc_${name}_ready" >/dev/null 2>&1; do
    if ! stack_pid "$name" >/dev/null; then
      tail -n 40 "$STACK_LOGS/$name.log" >&2 || true
      die "$name exited during start-up (log: $STACK_LOGS/$name.log)"
    fi
    ((SECONDS - start < timeout)) || { tail -n 40 "$STACK_LOGS/$name.log" >&2; die "$name not ready after ${timeout}s (log: $STACK_LOGS/$name.log)"; }
    sleep 0.5
  done
}

up_one() {
  local name=$1 t0
  if stack_pid "$name" >/dev/null && "svc_${name}_ready" >/dev/null 2>&1; then
    log "$name already running (pid $(stack_pid "$name"))"; return 0
  fi
  t0=$(now_ms)
  "svc_${name}_prepare"
  local t1; t1=$(now_ms)
  if ! stack_pid "$name" >/dev/null; then "svc_${name}_launch"; fi
  wait_ready "$name"
  log "$name ready: prepare $(((t1 - t0)))ms, start $(($(now_ms) - t1))ms, pid $(stack_pid "$name")"
}

down_one() {
  local name=$1 pid
  if ! pid=$(stack_pid "$name"); then rm -f "$STACK_RUN/$name.pid"; log "$name not running"; return 0; fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then log "$name ignored SIGTERM; killing"; kill -KILL -- "-$pid" 2>/dev/null || true; fi
  rm -f "$STACK_RUN/$name.pid"
  log "$name stopped"
}

status_one() {
  local name=$1 pid rss state
  if pid=$(stack_pid "$name"); then
    rss=$(ps -o rss= -g "$pid" 2>/dev/null | awk '{s+=$1} END {printf "%d", s/1024}')
    if "svc_${name}_ready" >/dev/null 2>&1; then state=ready; else state=starting; fi
    printf '%-8s %-8s pid=%-7s rss=%sMiB\n' "$name" "$state" "$pid" "$rss"
  else
    printf '%-8s %-8s\n' "$name" stopped
  fi
}

cmd=${1:-status}; shift || true
services=("$@"); ((${#services[@]})) || services=("${ALL_SERVICES[@]}")
case $cmd in
  up) for s in "${services[@]}"; do up_one "$s"; done; log "logs: $STACK_LOGS" ;;
  down) for ((i = ${#services[@]} - 1; i >= 0; i--)); do down_one "${services[i]}"; done ;;
  resume) for s in "${services[@]}"; do STACK_KEEP_STATE=1 up_one "$s"; done ;;
  status) for s in "${services[@]}"; do status_one "$s"; done ;;
  env)
    echo "STACK_TLS_CA_FILE=$STACK_TLS_CA_FILE"
    for s in "${services[@]}"; do "svc_${s}_env"; done
    ;;
  prepare) for s in "${services[@]}"; do "svc_${s}_prepare"; done ;;
  *) die "usage: stack.sh up|down|resume|status|env|prepare [service...]" ;;
esac
