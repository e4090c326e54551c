# Shared shell helpers. Source it; never run it.
# Everything downloaded or generated lives under CACHE_DIR (git-ignored).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_DIR="${TRIAGE_CACHE_DIR:-$REPO_ROOT/.cache}"
mkdir -p "$CACHE_DIR"

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Seconds since the epoch with millisecond precision, for timing steps.
now_ms() { date +%s%3N; }
