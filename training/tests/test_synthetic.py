"""Synthetic data: lesion insertion stays inside the lungs with the stated severity; the
classical lung mask of the real normal CT (skips without the data)."""
import numpy as np
import pytest

pytest.importorskip("scipy")

from covid_triage import ctmd, prepare, synthetic  # noqa: E402
from covid_triage.phantom import make_phantom, severity_from_masks  # noqa: E402


@pytest.fixture(scope="module")
def host():
    ph = make_phantom("normal", seed=3, shape=(96, 128, 24), spacing=(2.5, 2.5, 8.0))
    return ph.hu, ph.lung_labels, (2.5, 2.5, 8.0)


@pytest.mark.parametrize("kind", ["covid", "bacterial", "nodules"])
def test_insertion_is_strictly_inside_the_lungs(host, kind):
    hu, labels, spacing = host
    out, lesion = synthetic.insert_lesions(hu, labels, spacing, kind, np.random.default_rng(1))
    assert lesion.any()
    assert not (lesion & (labels == 0)).any()
    changed = np.abs(out - hu) > 1.0
    assert changed[lesion].mean() > 0.9  # the masked voxels really got denser
    assert out[lesion].mean() > hu[lesion].mean() + 150


def test_covid_insertion_reaches_the_requested_severity_in_both_lungs(host):
    hu, labels, spacing = host
    _, lesion = synthetic.insert_lesions(hu, labels, spacing, "covid", np.random.default_rng(2), target_severity=0.2)
    sev, fr = severity_from_masks(labels, lesion)
    assert sev >= 0.2
    assert fr["right"] > 0 and fr["left"] > 0  # bilateral


def test_normal_insertion_changes_nothing(host):
    hu, labels, spacing = host
    out, lesion = synthetic.insert_lesions(hu, labels, spacing, "normal", np.random.default_rng(0))
    assert not lesion.any() and np.array_equal(out, hu)


def test_cached_study_severity_matches_its_masks(tmp_path):
    # nodules, seed 0: one of the smallest phantoms (154 x 154 x 52 at 2 mm), so the test stays fast
    refs = synthetic.make_set("t", [0], host=False, kinds=("nodules",), cache_root=tmp_path, log=lambda m: None)
    study = refs[0].load()
    assert study.spacing[:2] == (2.0, 2.0)
    assert 40 <= study.hu.shape[2] <= 150 and 1.5 * 0.88 <= study.spacing[2] <= 5.0 * 1.12
    sev, _ = severity_from_masks(study.lung_mask, study.lesion_mask)
    assert sev == pytest.approx(synthetic.severity_of(refs[0])) and sev > 0


def test_resample_keeps_the_field_of_view_and_fills_with_the_minimum():
    vol = np.arange(10 * 6 * 2, dtype=np.float32).reshape(10, 6, 2)
    out = prepare.resample_inplane(vol, (1.0, 1.0), target=2.0)
    assert out.shape == (5, 3, 2)
    # output 0 samples input coordinate (0 + 0.5) * 2 - 0.5 = 0.5 -> mean of rows 0 and 1
    assert out[0, 0, 0] == pytest.approx((vol[0, 0, 0] + vol[1, 0, 0] + vol[0, 1, 0] + vol[1, 1, 0]) / 4)
    up = prepare.resample_inplane(vol, (4.0, 4.0), target=2.0)
    assert up.shape == (20, 12, 2) and up[0, 0, 0] == vol.min()  # -0.25 lies outside: fill


@pytest.mark.skipif(not ctmd.available("normal001"),
                    reason=f"real CT sample data not found at {ctmd.DATA_DIR}; skipping")
def test_classical_lung_mask_of_normal001_has_two_plausible_lungs():
    _, labels, spacing = synthetic.host_volume()
    litres = [(labels == k).sum() * np.prod(spacing) / 1e6 for k in (1, 2)]
    assert all(1.0 < v < 4.5 for v in litres), litres
    cols = [np.nonzero(labels == k)[1].mean() for k in (1, 2)]
    assert cols[0] < cols[1]  # the right lung sits at the lower col indices
