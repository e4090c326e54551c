import hashlib
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from covid_triage import export, networks as nw
from covid_triage.pyramid_pool import pyramid_pool_numpy
from covid_triage.phantom import make_phantom, window


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    torch.manual_seed(0)
    models = (nw.LungNet(0.25).eval(), nw.BackboneSeg(0.25).eval(), nw.ClsMLP().eval())
    manifest = export.export_model_set(out, width=0.25, models=models)
    return out, models, manifest


def _session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_graph_io_names_and_opset(exported):
    out, _, _ = exported
    expect = {"lungs": (["slice"], ["lung_logit"]), "backbone_seg": (["slice"], ["fm", "lesion_logit"]),
              "cls_mlp": (["features"], ["covid_logit"])}
    for name, (ins, outs) in expect.items():
        m = onnx.load(str(out / f"{name}.onnx"))
        onnx.checker.check_model(m)
        assert [i.name for i in m.graph.input] == ins
        assert [o.name for o in m.graph.output] == outs
        assert m.opset_import[0].version == export.OPSET


def test_onnxruntime_matches_torch_at_new_shapes(exported):
    out, (lungs, bbseg, cls), _ = exported
    assert export.TRACE_HW != (37, 53)
    x = torch.from_numpy(np.random.default_rng(0).random((3, 1, 37, 53), dtype=np.float32))
    with torch.no_grad():
        ref_lung = lungs(x).numpy()
        ref_fm, ref_les = (t.numpy() for t in bbseg(x))
    got_lung, = _session(out / "lungs.onnx").run(None, {"slice": x.numpy()})
    got_fm, got_les = _session(out / "backbone_seg.onnx").run(None, {"slice": x.numpy()})
    assert got_lung.shape == (3, 1, 37, 53) and got_fm.shape == (3, 8, 37, 53)
    np.testing.assert_allclose(got_lung, ref_lung, atol=1e-4)
    np.testing.assert_allclose(got_fm, ref_fm, atol=1e-4)
    np.testing.assert_allclose(got_les, ref_les, atol=1e-4)


def test_full_pipeline_on_phantom(exported):
    """lungs -> crop -> backbone_seg per slice -> pooling outside the graph -> cls_mlp."""
    out, (_, bbseg, cls), _ = exported
    p = make_phantom("covid", 0, shape=(48, 64, 12), spacing=(6.0, 6.0, 20.0))
    vol = window(p.hu)
    r, c, z = np.nonzero(p.lung_mask)  # untrained lung net: crop with the exact mask instead
    crop = vol[r.min():r.max() + 1, c.min():c.max() + 1, z.min():z.max() + 1]
    slices = np.ascontiguousarray(crop.transpose(2, 0, 1)[:, None])  # (D, 1, h, w)
    fm, _ = _session(out / "backbone_seg.onnx").run(None, {"slice": slices})
    feats = pyramid_pool_numpy(fm.transpose(1, 2, 3, 0))[None]  # (1, 4680)
    logit, = _session(out / "cls_mlp.onnx").run(None, {"features": feats})
    with torch.no_grad():
        ref = cls(torch.from_numpy(feats)).numpy()
    assert logit.shape == (1, 1)
    np.testing.assert_allclose(logit, ref, atol=1e-4)


def test_manifest_validates_and_hashes_match(exported):
    out, _, manifest = exported
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest
    export.validate_manifest(on_disk)
    assert "not for clinical use" in on_disk["intendedUse"]
    assert on_disk["thresholds"] == {"lungs": 0.5, "lesions": 0.2}
    assert on_disk["pyramidPooling"]["levels"] == [1, 2, 4, 8]
    assert on_disk["pyramidPooling"]["featureSize"] == 4680
    assert on_disk["preprocessing"]["inPlaneSpacingMm"] == [2.0, 2.0]
    assert on_disk["preprocessing"]["window"]["huMin"] == -1000 and on_disk["preprocessing"]["window"]["huMax"] == 300
    codes = {o["name"]: o.get("code", {}).get("code") for g in on_disk["graphs"] for o in g["outputs"]}
    assert codes["lung_logit"] == "39607008" and codes["lesion_logit"] == "52988006"
    for g in on_disk["graphs"]:
        assert hashlib.sha256((out / g["file"]).read_bytes()).hexdigest() == g["sha256"]
        for o in g["outputs"]:
            if "unitCode" in o:
                assert o["unitCode"]["code"] == "122157"


def test_schema_rejects_bad_manifests(exported):
    import jsonschema

    _, _, manifest = exported
    for mutate in (
        lambda m: m.pop("intendedUse"),
        lambda m: m.__setitem__("intendedUse", "clinical"),
        lambda m: m["graphs"][0].__setitem__("sha256", "xyz"),
        lambda m: m["thresholds"].__setitem__("lungs", 1.5),
    ):
        bad = json.loads(json.dumps(manifest))
        mutate(bad)
        with pytest.raises(jsonschema.ValidationError):
            export.validate_manifest(bad)
