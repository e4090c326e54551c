"""Training recipe pieces (notes §5) and a tiny end-to-end run with export."""
import json

import numpy as np
import pytest
import torch

from covid_triage import sampling, train
from covid_triage.phantom import make_phantom
from covid_triage.study import Study, StudyRef


def tiny_refs(seeds, unmask_first_covid=True):
    """Small phantoms (6 mm in-plane, 20 mm slices): fast enough for a unit test."""
    refs = []
    for seed in seeds:
        for kind in ("normal", "covid", "bacterial", "nodules"):
            masked = not (unmask_first_covid and kind == "covid" and seed == seeds[0])

            def load(kind=kind, seed=seed, masked=masked):
                ph = make_phantom(kind, seed=seed, shape=(40, 56, 12), spacing=(6.0, 6.0, 20.0))
                return Study(f"{kind}-{seed}", "test", ph.hu, ph.spacing, int(kind == "covid"), kind,
                             ph.lesion_mask if masked else None, ph.lung_labels)
            refs.append(StudyRef(f"{kind}-{seed}", "test", int(kind == "covid"), kind, masked, True, load))
    return refs


def test_group_probabilities_follow_the_recipe_and_renormalise():
    full = sampling.group_probabilities({"neg": [1], "pos_nomask": [1], "pos_mask": [1]})
    assert full == pytest.approx({"neg": 0.25, "pos_nomask": 0.25, "pos_mask": 0.5})
    no_unmasked = sampling.group_probabilities({"neg": [1], "pos_nomask": [], "pos_mask": [1]})
    assert no_unmasked == pytest.approx({"neg": 1 / 3, "pos_mask": 2 / 3})
    with pytest.raises(ValueError):
        sampling.group_probabilities({})


def test_drawn_groups_match_the_sampling_proportions():
    probs = sampling.group_probabilities({"neg": [1], "pos_nomask": [1], "pos_mask": [1]})
    draws = sampling.draw_groups(np.random.default_rng(0), probs, 20000)
    for g, p in probs.items():
        assert draws.count(g) / len(draws) == pytest.approx(p, abs=0.015)


def test_group_of():
    assert sampling.group_of(0, True) == "neg"
    assert sampling.group_of(1, True) == "pos_mask"
    assert sampling.group_of(1, False) == "pos_nomask"
    assert sampling.group_of(None, True) is None


def test_z_subsampling_gives_32_to_63_slices_with_k_floor_n_over_32():
    rng = np.random.default_rng(0)
    for n in range(32, 400):
        for _ in range(3):
            idx = sampling.z_indices(n, rng)
            k = n // 32
            assert 32 <= len(idx) <= 63, (n, len(idx))
            assert np.all(np.diff(idx) == k) and 0 <= idx[0] < k
    assert len(sampling.z_indices(20, rng)) == 20  # fewer than 32 slices: keep them all


def test_centre_crop_caps_the_box_at_128_by_160():
    rs, cs = sampling.centre_crop(200, 150, (128, 160))
    assert (rs.stop - rs.start, cs.stop - cs.start) == (128, 150)
    assert rs.start == 36 and cs.start == 0


def test_pad_batch_zero_pads_to_the_largest_and_at_least_8():
    a, b = np.ones((5, 9, 4), np.float32), np.ones((7, 3, 10), np.float32)
    out, _ = sampling.pad_batch([a, b])
    assert tuple(out.shape) == (2, 8, 9, 10)
    assert float(out[0].sum()) == a.sum() and float(out[0, 5:].abs().sum()) == 0.0


def test_seg_loss_only_counts_masked_positives():
    torch.manual_seed(0)
    logits = torch.zeros(2)
    seg = torch.randn(2, 4, 4, 3)
    labels = torch.tensor([1.0, 1.0])
    lesions = torch.zeros(2, 4, 4, 3)
    seg_mask = torch.zeros(2, 4, 4, 3, dtype=torch.bool)
    seg_mask[0] = True  # only the first study has a lesion mask
    base, _, ls = train.multitask_loss(logits, seg, labels, lesions, seg_mask)
    lesions2 = lesions.clone()
    lesions2[1] = 1.0  # the unmasked study's "target" must not matter
    same, _, _ = train.multitask_loss(logits, seg, labels, lesions2, seg_mask)
    assert float(same) == pytest.approx(float(base))
    lesions3 = lesions.clone()
    lesions3[0] = 1.0
    changed, _, _ = train.multitask_loss(logits, seg, labels, lesions3, seg_mask)
    assert float(changed) != pytest.approx(float(base))
    none, lc, ls0 = train.multitask_loss(logits, seg, labels, lesions, torch.zeros_like(seg_mask))
    assert ls0 == 0.0 and float(none) == pytest.approx(0.1 * lc)


def test_split_validation_is_stratified_and_disjoint():
    refs = tiny_refs(list(range(10)))
    tr, val = sampling.split_validation(refs, 8, seed=0)
    assert len(val) == 8 and not {r.id for r in tr} & {r.id for r in val}
    assert {r.covid for r in val} == {0, 1}


def test_two_iteration_run_exports_a_valid_trained_manifest(tmp_path):
    refs = tiny_refs([0, 1])
    argv = ["--out", str(tmp_path), "--width", "0.25", "--hidden", "16", "--epochs", "2", "--iters", "1",
            "--lung-epochs", "1", "--lung-iters", "2", "--lung-batch", "2", "--lung-crop", "32",
            "--crop", "24", "32", "--z-target", "8", "--version", "0.0.1-test"]
    summary = train.main(argv, refs=refs, val_refs=tiny_refs([5], unmask_first_covid=False))
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["weights"] == {"trained": True, "widthMultiplier": 0.25}
    assert manifest["version"] == "0.0.1-test"
    for g in manifest["graphs"]:
        assert (tmp_path / g["file"]).stat().st_size > 0
    stages = [h["stage"] for h in summary["history"]]
    assert stages.count("lungs") == 1 and stages.count("multitask") == 2
    log = json.loads((tmp_path / "train-log.json").read_text())
    assert 0.0 <= log["history"][-1]["val_auc"] <= 1.0
