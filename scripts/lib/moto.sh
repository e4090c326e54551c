# moto's server mode (a local AWS endpoint, from PyPI) in its own virtual environment, for the
# intake's AWS adapter tests (test/support/moto.ts). Source it; never run it.
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MOTO_VENV_DIR="$CACHE_DIR/venv-moto"

# Puts moto_server on PATH, installing test/python/moto-requirements.txt when it changed.
use_moto() {
  local requirements="$REPO_ROOT/test/python/moto-requirements.txt" stamp="$MOTO_VENV_DIR/.requirements.sha256" want
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [[ ! -x $MOTO_VENV_DIR/bin/moto_server || ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    log "installing moto's server into $MOTO_VENV_DIR"
    python3 -m venv "$MOTO_VENV_DIR"
    "$MOTO_VENV_DIR/bin/pip" install -q --disable-pip-version-check -r "$requirements"
    echo "$want" >"$stamp"
  fi
  export PATH="$MOTO_VENV_DIR/bin:$PATH"
}
