"""Evaluation helpers in plain numpy: Dice, ROC AUC, Spearman, the k-means lung split and
the paper's severity (notes §4, §6)."""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

LUNG_SPLIT_SEED = 42
LUNG_SPLIT_STRIDE = 30


def dice(pred: np.ndarray, truth: np.ndarray, empty: float = 1.0) -> float:
    """2|A∩B| / (|A|+|B|); `empty` when both are empty."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    s = int(pred.sum()) + int(truth.sum())
    return empty if s == 0 else 2.0 * int(np.logical_and(pred, truth).sum()) / s


def _ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks, ties get their average rank."""
    x = np.asarray(x, float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x), float)
    sx = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and sx[j + 1] == sx[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def roc_auc(labels: Sequence[int], scores: Sequence[float]) -> float:
    """Mann-Whitney form: P(score of a positive > score of a negative), ties count 1/2.
    NaN when one class is missing."""
    y = np.asarray(labels, int)
    s = np.asarray(scores, float)
    n_pos, n_neg = int((y == 1).sum()), int((y == 0).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = _ranks(s)
    return float((r[y == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Pearson correlation of the average ranks; NaN if either side is constant."""
    ra, rb = _ranks(np.asarray(a)), _ranks(np.asarray(b))
    ra, rb = ra - ra.mean(), rb - rb.mean()
    den = np.sqrt((ra * ra).sum() * (rb * rb).sum())
    return float((ra * rb).sum() / den) if den > 0 else float("nan")


def _mulberry32(seed: int):
    """The 32-bit PRNG of libs/inference/src/lung-split.ts, uniform in [0, 1)."""
    a = seed & 0xFFFFFFFF

    def nxt() -> float:
        nonlocal a
        a = (a + 0x6D2B79F5) & 0xFFFFFFFF
        t = a
        t = ((t ^ (t >> 15)) * (t | 1)) & 0xFFFFFFFF
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & 0xFFFFFFFF)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296.0
    return nxt


def two_means(points: np.ndarray, seed: int = LUNG_SPLIT_SEED, max_iter: int = 100) -> Tuple[np.ndarray, np.ndarray]:
    """k-means, k=2: k-means++ seeding from mulberry32(seed), Lloyd iterations to a fixed point,
    ties to cluster 0 (as lung-split.ts). -> (centres (2,3), labels)."""
    p = np.asarray(points, float)
    n = len(p)
    if n < 1:
        raise ValueError("k-means needs at least one point")
    rnd = _mulberry32(seed)
    first = p[int(np.floor(rnd() * n))].copy()
    d2 = ((p - first) ** 2).sum(1)
    target = rnd() * d2.sum()
    above = np.flatnonzero(np.cumsum(d2) > target)
    second = p[above[0] if len(above) else n - 1].copy()
    centres = np.stack([first, second])
    labels = np.full(n, 255, np.uint8)
    for _ in range(max_iter):
        d = ((p[:, None, :] - centres[None]) ** 2).sum(2)
        new = (d[:, 1] < d[:, 0]).astype(np.uint8)
        if np.array_equal(new, labels):
            break
        labels = new
        for k in (0, 1):
            if (labels == k).any():
                centres[k] = p[labels == k].mean(0)
    return centres, labels


def split_lungs(lung: np.ndarray, spacing: Sequence[float], stride: int = LUNG_SPLIT_STRIDE) -> np.ndarray:
    """(rows, cols, slices) lung mask -> labels 1 right / 2 left. k-means on the mm coordinates
    of every `stride`-th lung voxel, visited slice by slice, row by row (the service's order);
    the centre with the smaller col (patient right) is the right lung."""
    lung = np.asarray(lung, bool)
    out = np.zeros(lung.shape, np.uint8)
    idx = np.argwhere(lung.transpose(2, 0, 1))  # (slice, row, col), C order = service order
    if len(idx) == 0:
        return out
    mm = idx[:, [1, 2, 0]] * np.asarray(spacing, float)  # -> (row, col, slice) mm
    centres, _ = two_means(mm[::stride])
    right = 0 if centres[0][1] <= centres[1][1] else 1
    lab = (((mm[:, None, :] - centres[None]) ** 2).sum(2))
    cluster = (lab[:, 1] < lab[:, 0]).astype(int)
    values = np.where(cluster == right, 1, 2).astype(np.uint8)
    out.transpose(2, 0, 1)[tuple(idx.T)] = values
    return out


def severity(lung_labels: np.ndarray, lesion: np.ndarray) -> Tuple[float, float, float]:
    """-> (max over lungs, right fraction, left fraction) of lesion ∩ lung_i / lung_i."""
    fr = []
    for lab in (1, 2):
        lung = lung_labels == lab
        n = int(lung.sum())
        fr.append(float(np.logical_and(lesion, lung).sum() / n) if n else 0.0)
    return max(fr), fr[0], fr[1]
