"""Evaluate an exported model set (the ONNX files that ship, run with onnxruntime on CPU).

  python -m covid_triage.evaluate --model ../models/covid-triage-demo [--threads 2]

Pipeline per study, as the service does it (notes §3-§4), on the 2 mm in-plane grid:
window + resample, lungs.onnx on every slice (> 0.5), tight 3D lung box, backbone_seg.onnx
on the cropped slices, pyramid pooling in numpy, cls_mlp.onnx. Lesions = P(lesion) > 0.2.
Severity = max over the two k-means lungs (k = 2, seed 42, every 30th voxel) of the lesion
fraction. Metrics are computed on the 2 mm grid (the map-back to the source grid is not
evaluated here).

* Held-out synthetic data (seeds never used in training or validation): lesion Dice (COVID
  studies), lung Dice, ROC AUC of COVID vs each other kind and vs all, Spearman of severity.
* The real COVID-CT-MD series (skipped when ../shared/data/covid-ct-md is absent):
  slice-level infection ROC AUC against labels.json (slice score = max lesion probability
  inside the predicted lungs; the lesion-area fraction is reported too), the study COVID
  probability of P001 vs cap001 vs normal001, lung volumes in litres. normal001 was the
  texture host of the synthetic training data, so it is NOT held out.
Writes metrics.json next to the model (or --out).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from .metrics import dice, roc_auc, severity, spearman, split_lungs
from .prepare import bbox3d, prepare
from .pyramid_pool import MIN_AXIS, pyramid_pool_numpy
from .study import Study

LUNG_T, LESION_T = 0.5, 0.2
OTHER_KINDS = ("normal", "bacterial", "nodules")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class OnnxModel:
    """The three graphs of a manifest, run with onnxruntime's CPU provider."""

    def __init__(self, model_dir: Path, threads: int = 2, chunk: int = 16):
        import onnxruntime as ort

        self.dir = Path(model_dir)
        self.manifest = json.loads((self.dir / "manifest.json").read_text())
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.sess = {g["name"]: ort.InferenceSession(str(self.dir / g["file"]), opts,
                                                     providers=["CPUExecutionProvider"])
                     for g in self.manifest["graphs"]}
        self.chunk = chunk

    def _slices(self, name: str, x: np.ndarray, outputs: List[str]):
        """Run a per-slice graph on x (H, W, D) in chunks -> list of (D, C, H, W) arrays."""
        res: Dict[str, list] = {o: [] for o in outputs}
        for k0 in range(0, x.shape[2], self.chunk):
            s = np.ascontiguousarray(x[:, :, k0:k0 + self.chunk].transpose(2, 0, 1)[:, None], np.float32)
            for o, v in zip(outputs, self.sess[name].run(outputs, {"slice": s})):
                res[o].append(v)
        return [np.concatenate(res[o]) for o in outputs]

    def analyze(self, x: np.ndarray) -> dict:
        """x: windowed (H, W, D) at 2 mm in-plane -> lung mask, lesion probability, P(COVID)."""
        (lung_logit,) = self._slices("lungs", x, ["lung_logit"])
        lung = (_sigmoid(lung_logit[:, 0]) > LUNG_T).transpose(1, 2, 0)
        if not lung.any():
            return {"lung": lung, "lesion_prob": np.zeros(x.shape, np.float32), "covid_prob": float("nan"),
                    "error": "empty lung mask"}
        box = bbox3d(lung)
        crop = x[box]
        pad = [max(0, MIN_AXIS - n) for n in crop.shape]  # tiny boxes: zero-pad to the pyramid minimum
        if any(pad):
            crop = np.pad(crop, [(0, p) for p in pad])
        fm, lesion_logit = self._slices("backbone_seg", crop, ["fm", "lesion_logit"])
        feats = pyramid_pool_numpy(fm.transpose(1, 2, 3, 0))  # (8, h, w, d)
        covid_logit = self.sess["cls_mlp"].run(["covid_logit"], {"features": feats[None].astype(np.float32)})[0]
        lesion_prob = np.zeros(x.shape, np.float32)
        h, w, d = (b.stop - b.start for b in box)
        lesion_prob[box] = _sigmoid(lesion_logit[:, 0]).transpose(1, 2, 0)[:h, :w, :d]
        return {"lung": lung, "lesion_prob": lesion_prob, "covid_prob": float(_sigmoid(covid_logit[0, 0])),
                "box_shape": [h, w, d]}


def study_result(model: OnnxModel, study: Study, true_severity: Optional[float] = None) -> dict:
    p = prepare(study)
    r = model.analyze(p.x.astype(np.float32))
    lesion = r["lesion_prob"] > LESION_T
    labels = split_lungs(r["lung"], p.spacing)
    sev, right, left = severity(labels, lesion)
    voxel_ml = p.spacing[0] * p.spacing[1] * p.spacing[2] / 1000.0
    out = {"id": study.id, "kind": study.kind, "source": study.source, "covid": study.covid,
           "covid_prob": r["covid_prob"], "severity": sev, "severity_right": right, "severity_left": left,
           "lung_l": float(r["lung"].sum() * voxel_ml / 1000.0), "lesion_ml": float(lesion.sum() * voxel_ml)}
    if p.lung is not None:
        out["lung_dice"] = dice(r["lung"], p.lung)
    if p.lesion is not None and study.kind == "covid":
        out["lesion_dice"] = dice(lesion, p.lesion)
    if true_severity is not None:
        out["true_severity"] = true_severity
    out["_lesion_prob"], out["_lung"] = r["lesion_prob"], r["lung"]
    return out


def summarize(rows: List[dict]) -> dict:
    def mean(key, sel=lambda r: True):
        v = [r[key] for r in rows if key in r and sel(r) and not np.isnan(r[key])]
        return (float(np.mean(v)), len(v)) if v else (float("nan"), 0)

    y = [int(r["kind"] == "covid") for r in rows]
    s = [r["covid_prob"] for r in rows]
    auc = {"covid_vs_all": roc_auc(y, s)}
    for other in OTHER_KINDS:
        sel = [i for i, r in enumerate(rows) if r["kind"] in ("covid", other)]
        auc[f"covid_vs_{other}"] = roc_auc([y[i] for i in sel], [s[i] for i in sel])
    cov = [r for r in rows if r["kind"] == "covid" and "true_severity" in r]
    ld, n_ld = mean("lesion_dice")
    lu, n_lu = mean("lung_dice")
    return {"n": len(rows), "n_by_kind": {k: sum(r["kind"] == k for r in rows) for k in ("covid",) + OTHER_KINDS},
            "roc_auc": auc, "lesion_dice_covid_mean": ld, "lesion_dice_n": n_ld, "lung_dice_mean": lu,
            "lung_dice_n": n_lu,
            "severity_spearman_covid": spearman([r["true_severity"] for r in cov], [r["severity"] for r in cov])
            if len(cov) > 2 else float("nan"),
            "predicted_lesion_ml_mean_non_covid": mean("lesion_ml", lambda r: r["kind"] != "covid")[0]}


def evaluate_synthetic(model: OnnxModel, log=print) -> dict:
    from . import synthetic

    refs = synthetic.demo_set("demo-eval", log=log)
    rows = []
    for ref in refs:
        r = study_result(model, ref.load(), synthetic.severity_of(ref))
        r.pop("_lesion_prob"), r.pop("_lung")
        rows.append(r)
        log(f"  {ref.id}: P(covid)={r['covid_prob']:.3f} sev={r['severity']:.3f}/{r['true_severity']:.3f} "
            f"lung dice={r.get('lung_dice', float('nan')):.3f} lesion dice={r.get('lesion_dice', float('nan')):.3f}")
    out = {"all": summarize(rows)}
    for src in sorted({r["source"] for r in rows}):
        out[src] = summarize([r for r in rows if r["source"] == src])
    out["studies"] = rows
    return out


def evaluate_real(model: OnnxModel, log=print) -> Optional[dict]:
    from . import ctmd

    if not all(ctmd.available(c) for c in ctmd.CASES):
        log(f"real CT sample data not found at {ctmd.DATA_DIR}; skipping")
        return None
    out = {}
    for case in ctmd.CASES:
        hu, spacing = ctmd.load_case(case)
        kind = {"P001": "covid", "cap001": "bacterial", "normal001": "normal"}[case]
        r = study_result(model, Study(case, "covid-ct-md", hu, spacing, int(case == "P001"), kind))
        prob, lung = r.pop("_lesion_prob"), r.pop("_lung")
        inside = np.where(lung, prob, 0.0)
        r["slice_score_max_prob"] = inside.max(axis=(0, 1)).tolist()
        area = (inside > LESION_T).sum(axis=(0, 1)) / np.maximum(lung.sum(axis=(0, 1)), 1)
        labels = ctmd.slice_labels(case)
        if labels is not None:
            if len(labels) != prob.shape[2]:
                raise ValueError(f"{case}: {len(labels)} labels for {prob.shape[2]} slices")
            r["slice_auc_max_prob"] = roc_auc(labels, r["slice_score_max_prob"])
            r["slice_auc_lesion_area"] = roc_auc(labels, area.tolist())
            r["slices_positive"] = int(sum(labels))
        r["slices"] = int(prob.shape[2])
        r["lung_volume_ok_2_to_8_l"] = bool(2.0 <= r["lung_l"] <= 8.0)
        r.pop("slice_score_max_prob")
        log(f"  {case}: " + json.dumps({k: v for k, v in r.items() if not isinstance(v, list)}))
        out[case] = r
    out["note"] = "normal001 was the texture host of the synthetic training data: it is not held out"
    return out


def _finite(v):
    """NaN/inf -> None so metrics.json stays strict JSON."""
    if isinstance(v, float) and not np.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_finite(x) for x in v]
    return v


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="folder with manifest.json and the graphs")
    ap.add_argument("--out", type=Path, help="metrics.json path (default: next to the model)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-synthetic", action="store_true")
    ap.add_argument("--skip-real", action="store_true")
    a = ap.parse_args(argv)
    t0 = time.time()
    model = OnnxModel(a.model, threads=a.threads)
    m = model.manifest
    result = {"model": {"id": m["id"], "version": m["version"], "trained": m["weights"]["trained"],
                        "widthMultiplier": m["weights"]["widthMultiplier"]},
              "runtime": f"onnxruntime CPUExecutionProvider, {a.threads} intra-op threads",
              "thresholds": {"lungs": LUNG_T, "lesions": LESION_T},
              "grid": "2 mm in-plane, native slice spacing (no map-back to the source grid)"}
    if not a.skip_synthetic:
        result["synthetic_held_out"] = evaluate_synthetic(model)
    if not a.skip_real:
        real = evaluate_real(model)
        if real is not None:
            result["real_ct"] = real
    result["wall_s"] = round(time.time() - t0, 1)
    out = a.out or a.model / "metrics.json"
    result = _finite(result)
    out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    print(json.dumps({k: v for k, v in result.get("synthetic_held_out", {}).items() if k != "studies"}, indent=1))
    print(f"wrote {out} in {result['wall_s']} s")
    return result


if __name__ == "__main__":
    main()
