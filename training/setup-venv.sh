#!/usr/bin/env bash
# Build (or reuse) the training venv at <repo>/.cache/venv-train from training/requirements.txt.
# Idempotent: reinstalls only when requirements.txt changed since the last successful install.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
venv="${VENV_TRAIN:-$root/.cache/venv-train}"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
python="${PYTHON:-python3}"

if [[ ! -x "$venv/bin/python" ]]; then
  echo "creating $venv"
  "$python" -m venv "$venv"
fi
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]] && "$venv/bin/python" -c "import torch, onnxruntime" 2>/dev/null; then
  echo "venv up to date: $venv"
  exit 0
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$req"
"$venv/bin/python" -c "import torch, onnx, onnxruntime, numpy, jsonschema; print('torch', torch.__version__, 'onnxruntime', onnxruntime.__version__)"
echo "$want" > "$stamp"
echo "venv ready: $venv"
