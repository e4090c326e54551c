"""Dice, ROC AUC, Spearman against hand-computed values; the k-means lung split."""
import math

import numpy as np
import pytest

from covid_triage import metrics


def test_dice_by_hand():
    a = np.array([1, 1, 0, 0], bool)
    b = np.array([1, 0, 1, 0], bool)
    assert metrics.dice(a, b) == pytest.approx(0.5)  # 2*1 / (2+2)
    assert metrics.dice(a, a) == 1.0
    assert metrics.dice(np.zeros(3, bool), np.zeros(3, bool)) == 1.0
    assert metrics.dice(a, np.zeros(4, bool)) == 0.0


def test_roc_auc_by_hand():
    # positives 0.8, 0.4; negatives 0.5, 0.1: pairs (0.8>0.5, 0.8>0.1, 0.4<0.5, 0.4>0.1) -> 3/4
    assert metrics.roc_auc([1, 1, 0, 0], [0.8, 0.4, 0.5, 0.1]) == pytest.approx(0.75)
    assert metrics.roc_auc([1, 0], [0.3, 0.3]) == pytest.approx(0.5)  # a tie counts 1/2
    assert metrics.roc_auc([0, 1], [0.9, 0.1]) == 0.0
    assert math.isnan(metrics.roc_auc([1, 1], [0.1, 0.2]))


def test_spearman_by_hand():
    assert metrics.spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert metrics.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # ranks (1,2,3) vs (1,3,2): d^2 = 0+1+1 = 2 -> 1 - 6*2/(3*8) = 0.5
    assert metrics.spearman([1, 2, 3], [5, 9, 7]) == pytest.approx(0.5)
    assert math.isnan(metrics.spearman([1, 2, 3], [1, 1, 1]))


def test_mulberry32_matches_the_typescript_stream():
    rnd = metrics._mulberry32(42)  # values printed by lung-split.ts's mulberry32(42) in node
    assert [rnd() for _ in range(3)] == pytest.approx([0.6011037519201636, 0.44829055899754167, 0.8524657934904099])


def test_kmeans_split_separates_two_synthetic_lungs():
    shape = (40, 60, 20)
    r, c, z = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    right = ((r - 20) / 14) ** 2 + ((c - 15) / 10) ** 2 + ((z - 10) / 9) ** 2 <= 1  # low cols = patient right
    left = ((r - 20) / 14) ** 2 + ((c - 44) / 12) ** 2 + ((z - 10) / 9) ** 2 <= 1
    labels = metrics.split_lungs(right | left, (2.0, 2.0, 5.0))
    assert np.array_equal(labels == 1, right) and np.array_equal(labels == 2, left)
    assert not metrics.split_lungs(np.zeros(shape, bool), (2.0, 2.0, 5.0)).any()


def test_severity_is_the_more_affected_lung():
    labels = np.zeros((10, 10, 1), np.uint8)
    labels[:, :5] = 1
    labels[:, 5:] = 2
    lesion = np.zeros_like(labels, bool)
    lesion[:2, :5] = True   # 10/50 of the right lung
    lesion[:5, 5:] = True   # 25/50 of the left lung
    assert metrics.severity(labels, lesion) == pytest.approx((0.5, 0.2, 0.5))
