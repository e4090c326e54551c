"""Procedural chest CT phantoms with exact masks, for tests and smoke runs (not anatomy-grade).

Array layout matches the model (notes §3): (rows, cols, slices); rows run anterior->posterior,
cols run patient right->left (so the patient's right lung has the lower col indices), slices
run head->feet. Values are HU (float32). Everything is drawn in millimetres, so the same seed
gives the same anatomy at any spacing (up to sampling).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Tuple

import numpy as np

KINDS = ("normal", "covid", "bacterial", "nodules")
HU_AIR, HU_FAT, HU_SOFT, HU_BONE, HU_LUNG = -1000.0, -100.0, 40.0, 700.0, -860.0
HU_GGO, HU_CONSOLIDATION = -550.0, 25.0


@dataclass
class Phantom:
    kind: str
    hu: np.ndarray            # float32 (rows, cols, slices)
    lung_labels: np.ndarray   # uint8: 0 outside, 1 right lung, 2 left lung
    lesion_mask: np.ndarray   # bool, always inside the lungs
    spacing: Tuple[float, float, float]
    severity: float           # max over lungs of |lesion ∩ lung_i| / |lung_i|
    lung_fractions: Dict[str, float] = field(default_factory=dict)

    @property
    def lung_mask(self) -> np.ndarray:
        return self.lung_labels > 0

    @property
    def covid_label(self) -> int:
        return int(self.kind == "covid")


def severity_from_masks(lung_labels: np.ndarray, lesion_mask: np.ndarray) -> Tuple[float, Dict[str, float]]:
    """Paper's severity with the two lungs known exactly (the model side uses k-means instead)."""
    fr = {}
    for name, lab in (("right", 1), ("left", 2)):
        lung = lung_labels == lab
        n = int(lung.sum())
        fr[name] = float(np.logical_and(lesion_mask, lung).sum() / n) if n else 0.0
    return max(fr.values()), fr


def _grid(shape, spacing):
    # millimetre coordinates centred on the volume centre
    axes = [(np.arange(n) - (n - 1) / 2.0) * s for n, s in zip(shape, spacing)]
    return np.meshgrid(*axes, indexing="ij")


def _ellipsoid(r, c, z, centre, semi):
    return ((r - centre[0]) / semi[0]) ** 2 + ((c - centre[1]) / semi[1]) ** 2 + ((z - centre[2]) / semi[2]) ** 2


def _tube(r, c, z, p0, p1, radius):
    """Voxels within `radius` mm of segment p0-p1 (vessels, airways)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    d = p1 - p0
    t = ((r - p0[0]) * d[0] + (c - p0[1]) * d[1] + (z - p0[2]) * d[2]) / max(d @ d, 1e-9)
    t = np.clip(t, 0.0, 1.0)
    dist2 = (r - p0[0] - t * d[0]) ** 2 + (c - p0[1] - t * d[1]) ** 2 + (z - p0[2] - t * d[2]) ** 2
    return dist2 <= radius ** 2


def make_phantom(kind: str = "normal", seed: int = 0, shape=(64, 96, 32),
                 spacing=(4.0, 4.0, 8.0), noise_hu: float = 15.0) -> Phantom:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    r, c, z = _grid(shape, spacing)
    zext = shape[2] * spacing[2] / 2.0

    hu = np.full(shape, HU_AIR, dtype=np.float32)
    body = (r / 115.0) ** 2 + (c / 165.0) ** 2 <= 1.0          # elliptic cylinder along z
    inner = (r / 100.0) ** 2 + (c / 150.0) ** 2 <= 1.0
    hu[body] = HU_FAT
    hu[inner] = HU_SOFT
    # ribs: short bony arcs just inside the fat layer, one every ~25 mm along z
    ang = np.arctan2(r, c)
    rib_band = ((r / 97.0) ** 2 + (c / 146.0) ** 2 <= 1.0) & ((r / 88.0) ** 2 + (c / 136.0) ** 2 > 1.0)
    rib_rows = (np.mod(z + zext, 25.0) < 9.0) & (np.abs(np.sin(ang)) > 0.25)
    hu[rib_band & rib_rows] = HU_BONE
    hu[((r - 80.0) / 18.0) ** 2 + (c / 18.0) ** 2 <= 1.0] = HU_BONE  # vertebral body, posterior

    # lungs: ellipsoids either side of the mediastinum; right lung (patient) at negative c
    jitter = rng.uniform(-0.06, 0.06, size=6)
    semi = np.array([72.0, 58.0, 0.85 * zext])
    lungs = np.zeros(shape, dtype=np.uint8)
    centres = {}
    for lab, side in ((1, -1.0), (2, 1.0)):
        cen = (5.0, side * 78.0, 0.0)
        s = semi * (1.0 + jitter[3 * (lab - 1): 3 * lab])
        lungs[_ellipsoid(r, c, z, cen, s) <= 1.0] = lab
        centres[lab] = (np.array(cen), s)
    lung = lungs > 0
    hu[lung] = HU_LUNG

    # airways: trachea down the midline into two main bronchi (air, inside and outside lungs)
    carina = (0.0, 0.0, -0.2 * zext)
    hu[_tube(r, c, z, (0.0, 0.0, -zext), carina, 8.0)] = HU_AIR
    for lab in (1, 2):
        cen, s = centres[lab]
        hu[_tube(r, c, z, carina, (cen[0], cen[1] - np.sign(cen[1]) * 20.0, 0.1 * zext), 5.0)] = HU_AIR
    # vessels: branches radiating from each hilum, only where the lung is
    for lab in (1, 2):
        cen, s = centres[lab]
        hilum = np.array([cen[0], cen[1] - np.sign(cen[1]) * 0.6 * s[1], 0.0])
        for _ in range(10):
            direction = rng.normal(size=3)
            direction /= np.linalg.norm(direction)
            end = cen + direction * s * rng.uniform(0.6, 0.95)
            v = _tube(r, c, z, hilum, end, rng.uniform(1.5, 3.5)) & (lungs == lab)
            hu[v] = HU_SOFT

    lesion = np.zeros(shape, dtype=bool)
    if kind == "covid":
        # bilateral, peripheral ground glass; the larger blobs get a consolidated core
        for lab in (1, 2):
            cen, s = centres[lab]
            for _ in range(int(rng.integers(2, 5))):
                direction = rng.normal(size=3)
                direction[1] = np.sign(cen[1]) * abs(direction[1])  # lateral (peripheral) side
                direction /= np.linalg.norm(direction)
                centre = cen + direction * s * rng.uniform(0.7, 0.9)
                rad = rng.uniform(14.0, 28.0, size=3)
                blob = (_ellipsoid(r, c, z, centre, rad) <= 1.0) & (lungs == lab)
                lesion |= blob
                hu[blob] = HU_GGO
                if rad.min() > 18.0:
                    core = (_ellipsoid(r, c, z, centre, rad * 0.45) <= 1.0) & (lungs == lab)
                    hu[core] = HU_CONSOLIDATION
    elif kind == "bacterial":
        # lobar consolidation: the dependent, lower part of one lung below an oblique plane
        lab = int(rng.integers(1, 3))
        cen, s = centres[lab]
        cut = rng.uniform(0.0, 0.3)
        plane = (z - cen[2]) / s[2] + 0.5 * (r - cen[0]) / s[0] > cut
        blob = plane & (lungs == lab)
        lesion |= blob
        hu[blob] = HU_CONSOLIDATION
    elif kind == "nodules":
        for _ in range(int(rng.integers(1, 4))):
            lab = int(rng.integers(1, 3))
            cen, s = centres[lab]
            centre = cen + rng.uniform(-0.5, 0.5, size=3) * s
            rad = rng.uniform(max(4.0, max(spacing)), 2.0 * max(spacing) + 4.0)
            blob = (_ellipsoid(r, c, z, centre, (rad, rad, rad)) <= 1.0) & (lungs == lab)
            lesion |= blob
            hu[blob] = HU_SOFT

    hu += rng.normal(0.0, noise_hu, size=shape).astype(np.float32)
    np.clip(hu, -1024.0, 3071.0, out=hu)
    severity, fractions = severity_from_masks(lungs, lesion)
    return Phantom(kind, hu.astype(np.float32), lungs, lesion, tuple(float(s) for s in spacing),
                   severity, fractions)


def window(hu: np.ndarray) -> np.ndarray:
    """Notes §3: clip to [-1000, 300] and map linearly to [0, 1]."""
    return ((np.clip(hu, -1000.0, 300.0) + 1000.0) / 1300.0).astype(np.float32)
