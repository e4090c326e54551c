"""Evaluation: the ONNX pipeline on a small volume, the summary metrics, the real-CT skip."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from covid_triage import ctmd, evaluate  # noqa: E402
from covid_triage.export import export_model_set  # noqa: E402
from covid_triage.phantom import make_phantom  # noqa: E402
from covid_triage.study import Study  # noqa: E402


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    export_model_set(out, width=0.25, seed=1, hidden=16)
    return out


def test_onnx_pipeline_runs_on_a_small_study(model_dir):
    ph = make_phantom("covid", seed=0, shape=(48, 64, 10), spacing=(5.0, 5.0, 10.0))
    r = evaluate.study_result(evaluate.OnnxModel(model_dir, threads=1),
                              Study("t", "test", ph.hu, ph.spacing, 1, "covid", ph.lesion_mask, ph.lung_labels), 0.1)
    assert r["true_severity"] == 0.1 and "lung_dice" in r and "lesion_dice" in r
    # untrained weights: only the ranges are meaningful
    assert 0.0 <= r["lung_dice"] <= 1.0 and 0.0 <= r["severity"] <= 1.0
    assert np.isnan(r["covid_prob"]) or 0.0 <= r["covid_prob"] <= 1.0
    assert r["_lesion_prob"].shape == (120, 160, 10)


def test_summary_aucs_per_kind():
    rows = [{"kind": k, "covid_prob": p, "severity": s, "true_severity": t}
            for k, p, s, t in [("covid", 0.9, 0.3, 0.2), ("covid", 0.6, 0.1, 0.05), ("covid", 0.8, 0.5, 0.4),
                               ("normal", 0.1, 0, 0), ("bacterial", 0.7, 0, 0), ("nodules", 0.2, 0, 0)]]
    s = evaluate.summarize(rows)
    assert s["roc_auc"]["covid_vs_normal"] == 1.0
    assert s["roc_auc"]["covid_vs_bacterial"] == pytest.approx(2 / 3)  # 0.6 < 0.7
    assert s["roc_auc"]["covid_vs_all"] == pytest.approx(8 / 9)
    assert s["severity_spearman_covid"] == pytest.approx(1.0)


def test_real_ct_is_skipped_cleanly_when_absent(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(ctmd, "DATA_DIR", tmp_path / "missing")
    monkeypatch.setattr(ctmd, "available", lambda case, data_dir=tmp_path / "missing": False)
    assert evaluate.evaluate_real(None) is None
    assert "real CT sample data not found" in capsys.readouterr().out


def test_nan_becomes_null_in_metrics_json():
    assert evaluate._finite({"a": float("nan"), "b": [1.0, float("inf")]}) == {"a": None, "b": [1.0, None]}


def test_the_phantom_training_path_needs_no_extra_packages():
    """device-run.sh runs on a machine with torch + numpy + onnxruntime only."""
    code = ("import sys\n"
            "for m in ('scipy', 'pydicom', 'nibabel', 'jsonschema', 'onnx', 'pylibjpeg'): sys.modules[m] = None\n"
            "from covid_triage import train, synthetic, prepare, metrics\n"
            "print('ok')\n")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
