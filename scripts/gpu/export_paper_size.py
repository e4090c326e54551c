"""A paper-size model set for the GPU check (scripts/gpu/check.sh): the multitask network at
width 1.0 with the paper's 1024-unit MLP (random weights, seed 0: no trained paper-size weights
exist) beside the demo set's trained lung network, so that the pipeline finds real lungs in a real
CT and the backbone runs on a real lung box. Same graph contract as every set (export.py).

Usage: python scripts/gpu/export_paper_size.py OUT_DIR DEMO_SET_DIR
Needs torch (and onnx for the exporter); jsonschema only to check the manifest.
"""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))

import torch  # noqa: E402

from covid_triage import export, networks  # noqa: E402


def main() -> None:
    out, demo = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    models = (networks.LungNet(1.0), networks.BackboneSeg(1.0), networks.ClsMLP(hidden=1024))
    paths = export.export_graphs(out, *models)
    shutil.copyfile(demo / "lungs.onnx", paths["lungs"])
    manifest = export.build_manifest(
        paths, model_id="covid-triage-paper-size-check", version="0.0.0-gpu-check", trained=False, width=1.0,
        name="Paper-size GPU check (width 1.0, random weights, demo lungs)")
    # The demo set's preprocessing and thresholds, so both sets see the same inputs.
    demo_manifest = json.loads((demo / "manifest.json").read_text())
    for key in ("preprocessing", "thresholds", "pyramidPooling"):
        manifest[key] = demo_manifest[key]
    try:
        export.validate_manifest(manifest)
    except ImportError:
        print("jsonschema is not installed: manifest written unchecked (the worker's loader checks it)")
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    sizes = {p.name: p.stat().st_size for p in paths.values()}
    print(json.dumps({"out": str(out), "bytes": sizes}))


if __name__ == "__main__":
    main()
