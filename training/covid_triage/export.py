"""Export the three ONNX graphs of the contract (notes §7) and write manifest.json.

  lungs.onnx         slice[N,1,H,W]  -> lung_logit[N,1,H,W]
  backbone_seg.onnx  slice[N,1,h,w]  -> fm[N,8,h,w], lesion_logit[N,1,h,w]
  cls_mlp.onnx       features[1,4680] -> covid_logit[1,1]

Pyramid pooling stays outside the graphs: a traced pooling bakes kernel/stride in as constants.
Usage: python -m covid_triage.export --out out/model [--width 0.25] [--seed 0]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import warnings
from pathlib import Path
from typing import Dict, Optional

import torch
from torch import nn

from . import networks
from .pyramid_pool import FEATURE_SIZE, LEVELS

OPSET = 17
TRACE_HW = (64, 80)  # arbitrary; tests run the graphs at other shapes
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "manifest.schema.json"

SNOMED = "http://snomed.info/sct"
DCM = "http://dicom.nema.org/resources/ontology/DCM"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _export(model: nn.Module, args, path: Path, inputs, outputs, dynamic: Dict[str, Dict[int, str]]):
    model.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # legacy exporter is deliberate
        # dynamo=False: the TorchScript exporter gives plain dynamic axes without onnxscript
        torch.onnx.export(model, args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True,
                          dynamo=False)


def export_graphs(out_dir: Path, lungs: nn.Module, backbone_seg: nn.Module, cls: nn.Module) -> Dict[str, Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    x = torch.zeros(1, 1, *TRACE_HW)
    paths = {k: out_dir / f"{k}.onnx" for k in ("lungs", "backbone_seg", "cls_mlp")}
    nhw = {0: "N", 2: "H", 3: "W"}
    _export(lungs, (x,), paths["lungs"], ["slice"], ["lung_logit"], {"slice": nhw, "lung_logit": nhw})
    _export(backbone_seg, (x,), paths["backbone_seg"], ["slice"], ["fm", "lesion_logit"],
            {"slice": nhw, "fm": nhw, "lesion_logit": nhw})
    # cls graph keeps its fixed [1, 4680] -> [1, 1] shape: one study at a time
    _export(cls, (torch.zeros(1, FEATURE_SIZE),), paths["cls_mlp"], ["features"], ["covid_logit"], {})
    return paths


def build_manifest(paths: Dict[str, Path], *, model_id: str, version: str, name: str,
                   width: float, trained: bool) -> dict:
    code = lambda system, c, display: {"system": system, "code": c, "display": display}  # noqa: E731
    prob = code(DCM, "122157", "Probability")
    return {
        "schemaVersion": 1,
        "id": model_id,
        "version": version,
        "name": name,
        "intendedUse": "demonstration only — not for clinical use",
        "reference": "Goncharov et al., arXiv:2006.01441 (COVID-19 triage, multitask spatial model)",
        "weights": {"trained": trained, "widthMultiplier": width},
        "preprocessing": {
            "arrayLayout": "(rows, cols, slices)",
            "orientation": {
                "rows": "anterior->posterior",
                "cols": "patient right->left",
                "slices": "head->feet (ImagePositionPatient z descending)",
            },
            "inPlaneSpacingMm": [2.0, 2.0],
            "sliceAxisResampled": False,
            "resampling": "linear, fill with the volume minimum",
            "hu": "stored * RescaleSlope + RescaleIntercept",
            "window": {"huMin": -1000.0, "huMax": 300.0, "outMin": 0.0, "outMax": 1.0},
            "lungCrop": "tight 3D bounding box of (sigmoid(lung_logit) > lungs threshold), no margin",
        },
        "thresholds": {"lungs": 0.5, "lesions": 0.2},
        "pyramidPooling": {
            "levels": list(LEVELS),
            "featureSize": FEATURE_SIZE,
            "minAxisLength": max(LEVELS),
            "rule": "stride=floor(L/l), kernel=L-(l-1)*stride, window i=[i*stride, i*stride+kernel), max",
            "layout": "levels in order; within a level (channel, h, w, d), channel-major",
        },
        "graphs": [
            {
                "name": "lungs", "file": paths["lungs"].name, "sha256": sha256(paths["lungs"]),
                "opset": OPSET,
                "inputs": [{"name": "slice", "dtype": "float32", "shape": ["N", 1, "H", "W"],
                            "meaning": "windowed full 2 mm axial slices"}],
                "outputs": [{"name": "lung_logit", "dtype": "float32", "shape": ["N", 1, "H", "W"],
                             "meaning": "lung logit per pixel; sigmoid gives P(lung)",
                             "code": code(SNOMED, "39607008", "Lung structure"), "unitCode": prob}],
            },
            {
                "name": "backbone_seg", "file": paths["backbone_seg"].name,
                "sha256": sha256(paths["backbone_seg"]), "opset": OPSET,
                "inputs": [{"name": "slice", "dtype": "float32", "shape": ["N", 1, "h", "w"],
                            "meaning": "windowed 2 mm axial slices cropped to the lung box"}],
                "outputs": [
                    {"name": "fm", "dtype": "float32", "shape": ["N", 8, "h", "w"],
                     "meaning": "upper feature map; stack over slices to (8,h,w,d) and pyramid-pool"},
                    {"name": "lesion_logit", "dtype": "float32", "shape": ["N", 1, "h", "w"],
                     "meaning": "COVID-19 lesion logit per pixel; sigmoid gives P(lesion)",
                     "code": code(SNOMED, "52988006", "Lesion"), "unitCode": prob},
                ],
            },
            {
                "name": "cls_mlp", "file": paths["cls_mlp"].name, "sha256": sha256(paths["cls_mlp"]),
                "opset": OPSET,
                "inputs": [{"name": "features", "dtype": "float32", "shape": [1, FEATURE_SIZE],
                            "meaning": "pyramid-pooled fm of the whole cropped volume"}],
                "outputs": [{"name": "covid_logit", "dtype": "float32", "shape": [1, 1],
                             "meaning": "study-level COVID-19 logit; sigmoid gives P(COVID-19)",
                             "unitCode": prob}],
            },
        ],
    }


def validate_manifest(manifest: dict, schema_path: Path = SCHEMA_PATH) -> None:
    import jsonschema

    jsonschema.validate(manifest, json.loads(Path(schema_path).read_text()))


def export_model_set(out_dir: Path, width: float = 1.0, seed: int = 0, *, hidden: int = 1024,
                     model_id: str = "covid-triage-multitask-demo",
                     version: str = "0.0.0-untrained", name: Optional[str] = None, models=None,
                     trained: bool = False) -> dict:
    """Export the graphs (random init unless `models=(lungs, backbone_seg, cls)`) + manifest.json."""
    if models is None:
        torch.manual_seed(seed)
        models = (networks.LungNet(width), networks.BackboneSeg(width), networks.ClsMLP(hidden=hidden))
    paths = export_graphs(out_dir, *models)
    manifest = build_manifest(
        paths, model_id=model_id, version=version, trained=trained, width=width,
        name=name or "COVID-19 CT triage after Goncharov et al. 2021 (untrained)")
    validate_manifest(manifest)
    (Path(out_dir) / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("out/model"))
    ap.add_argument("--width", type=float, default=1.0, help="width multiplier (1.0 = paper size)")
    ap.add_argument("--hidden", type=int, default=1024, help="MLP hidden units (1024 = paper size)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    m = export_model_set(a.out, width=a.width, seed=a.seed, hidden=a.hidden)
    for g in m["graphs"]:
        print(f"{a.out / g['file']}  sha256={g['sha256']}")
    print(f"{a.out / 'manifest.json'}")


if __name__ == "__main__":
    main()
