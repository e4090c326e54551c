# A Python virtual environment with the independent tools of test/python/requirements.txt
# (pydicom, highdicom, ...), from PyPI. Source it; never run it.
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

VENV_DIR="$CACHE_DIR/venv"

use_venv() {
  local requirements="$REPO_ROOT/test/python/requirements.txt" stamp="$VENV_DIR/.requirements.sha256" want
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [[ ! -x $VENV_DIR/bin/python || ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    log "installing Python tools into $VENV_DIR"
    python3 -m venv "$VENV_DIR"
    "$VENV_DIR/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    echo "$want" >"$stamp"
  fi
  export PATH="$VENV_DIR/bin:$PATH"
}
