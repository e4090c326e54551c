import numpy as np
import pytest

from covid_triage import phantom as ph

SMALL = dict(shape=(32, 48, 16), spacing=(8.0, 8.0, 16.0))


@pytest.mark.parametrize("kind", ph.KINDS)
def test_masks_and_severity_exact(kind):
    p = ph.make_phantom(kind, seed=7, **SMALL)
    assert p.hu.shape == SMALL["shape"] and p.hu.dtype == np.float32
    assert p.lesion_mask.shape == p.lung_labels.shape == SMALL["shape"]
    assert not np.any(p.lesion_mask & ~p.lung_mask)  # lesions are inside the lungs
    right, left = p.lung_labels == 1, p.lung_labels == 2
    assert right.sum() > 0 and left.sum() > 0
    expected = max((p.lesion_mask & right).sum() / right.sum(), (p.lesion_mask & left).sum() / left.sum())
    assert p.severity == pytest.approx(expected, abs=0)
    assert 0.0 <= p.severity <= 1.0


def test_orientation_right_lung_has_low_cols():
    p = ph.make_phantom("normal", seed=1, **SMALL)
    cols_right = np.nonzero(p.lung_labels == 1)[1]
    cols_left = np.nonzero(p.lung_labels == 2)[1]
    assert cols_right.max() < cols_left.min()


def test_class_patterns():
    assert ph.make_phantom("normal", 3, **SMALL).severity == 0.0
    covid = ph.make_phantom("covid", 3, **SMALL)
    assert covid.lung_fractions["right"] > 0 and covid.lung_fractions["left"] > 0  # bilateral
    assert covid.covid_label == 1
    bact = ph.make_phantom("bacterial", 3, **SMALL)
    assert min(bact.lung_fractions.values()) == 0.0 < max(bact.lung_fractions.values())  # one lobe/lung
    assert bact.covid_label == 0
    nod = ph.make_phantom("nodules", 3, **SMALL)
    assert 0 < nod.lesion_mask.sum() and nod.severity < 0.1


def test_hu_ranges():
    p = ph.make_phantom("covid", 5, **SMALL)
    healthy_lung = p.lung_mask & ~p.lesion_mask
    assert np.median(p.hu[healthy_lung]) < -700
    assert np.median(p.hu[p.lesion_mask]) > -700
    assert np.median(p.hu[0]) < -900  # air in front of the body
    w = ph.window(p.hu)
    assert w.min() >= 0.0 and w.max() <= 1.0


def test_deterministic_by_seed():
    a, b = ph.make_phantom("covid", 11, **SMALL), ph.make_phantom("covid", 11, **SMALL)
    np.testing.assert_array_equal(a.hu, b.hu)
    np.testing.assert_array_equal(a.lesion_mask, b.lesion_mask)
    c = ph.make_phantom("covid", 12, **SMALL)
    assert not np.array_equal(a.lesion_mask, c.lesion_mask)


def test_spacing_changes_grid_not_anatomy():
    coarse = ph.make_phantom("normal", 2, shape=(32, 48, 16), spacing=(8.0, 8.0, 16.0), noise_hu=0)
    fine = ph.make_phantom("normal", 2, shape=(64, 96, 32), spacing=(4.0, 4.0, 8.0), noise_hu=0)
    v_coarse = coarse.lung_mask.sum() * 8 * 8 * 16
    v_fine = fine.lung_mask.sum() * 4 * 4 * 8
    assert v_coarse == pytest.approx(v_fine, rel=0.1)


def test_unknown_kind():
    with pytest.raises(ValueError):
        ph.make_phantom("flu")
