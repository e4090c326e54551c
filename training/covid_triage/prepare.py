"""Study -> training arrays (notes §3): 2 mm in-plane, HU window, lung box.

The resampling mirrors the TypeScript service (libs/inference/src/preprocess.ts) so the
networks see at training time exactly what they see in production: pixel centres aligned
(torch `align_corners=False`), output length round(n * spacing / 2), output index o samples
input coordinate (o + 0.5) * scale - 0.5, bilinear, samples beyond the first/last input
pixel centre get the fill value (the volume minimum). The slice axis is never resampled.
Numpy only, so this module imports without scipy.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from .study import Study

TARGET_MM = 2.0
HU_MIN, HU_MAX = -1000.0, 300.0
EDGE_EPSILON = 1e-6


def window(hu: np.ndarray) -> np.ndarray:
    """Clip HU to [-1000, 300] and map to [0, 1] (float32)."""
    return ((np.clip(hu, HU_MIN, HU_MAX) - HU_MIN) / (HU_MAX - HU_MIN)).astype(np.float32)


def _axis_plan(n: int, spacing: float, target: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower index, fraction and inside-flag per output sample of one axis."""
    out_len = max(1, int(round(n * spacing / target)))
    scale = target / spacing
    x = (np.arange(out_len) + 0.5) * scale - 0.5
    inside = (x >= -EDGE_EPSILON) & (x <= n - 1 + EDGE_EPSILON)
    x = np.clip(x, 0, n - 1)
    lower = np.minimum(np.floor(x).astype(np.int64), max(n - 2, 0))
    frac = x - lower
    return lower, frac, inside


def _resample_axis(vol: np.ndarray, axis: int, spacing: float, target: float, fill: float,
                   nearest: bool) -> np.ndarray:
    n = vol.shape[axis]
    lower, frac, inside = _axis_plan(n, spacing, target)
    upper = np.minimum(lower + 1, n - 1)
    shape = [1] * vol.ndim
    shape[axis] = -1
    if nearest:
        idx = np.where(frac >= 0.5, upper, lower)
        out = np.take(vol, idx, axis=axis)
    else:
        a = np.take(vol, lower, axis=axis).astype(np.float32)
        b = np.take(vol, upper, axis=axis).astype(np.float32)
        f = frac.reshape(shape).astype(np.float32)
        out = a * (1 - f) + b * f
    if not inside.all():
        out = out.copy()
        sl = [slice(None)] * vol.ndim
        sl[axis] = ~inside
        out[tuple(sl)] = fill
    return out


def resample_inplane(vol: np.ndarray, spacing: Tuple[float, float], target: float = TARGET_MM,
                     fill: Optional[float] = None, nearest: bool = False) -> np.ndarray:
    """(rows, cols, slices) at `spacing` (row, col mm) -> in-plane `target` mm.
    Linear for images (fill defaults to the volume minimum); `nearest=True` for label maps
    (fill 0)."""
    if fill is None:
        fill = 0 if nearest else float(vol.min())
    out = _resample_axis(vol, 0, float(spacing[0]), target, fill, nearest)
    return _resample_axis(out, 1, float(spacing[1]), target, fill, nearest)


def bbox3d(mask: np.ndarray) -> Tuple[slice, slice, slice]:
    """Tight 3D bounding box of a boolean mask (no margin). Empty mask -> ValueError."""
    if not mask.any():
        raise ValueError("empty lung mask: no lung box")
    box = []
    for axis in range(3):
        other = tuple(a for a in range(3) if a != axis)
        idx = np.flatnonzero(mask.any(axis=other))
        box.append(slice(int(idx[0]), int(idx[-1]) + 1))
    return tuple(box)  # type: ignore[return-value]


@dataclass
class Prepared:
    """One study at 2 mm in-plane, windowed; arrays (rows, cols, slices)."""
    id: str
    source: str
    kind: str
    covid: Optional[int]
    x: np.ndarray                       # float16 windowed image, full 2 mm slices
    lung: Optional[np.ndarray]          # bool or None (unknown: predict with the lung net)
    lesion: Optional[np.ndarray]        # bool or None (not annotated)
    spacing: Tuple[float, float, float]
    severity: Optional[float] = None    # exact, when known (synthetic data)

    @property
    def box(self) -> Tuple[slice, slice, slice]:
        if self.lung is None:
            raise ValueError(f"{self.id}: no lung mask")
        return bbox3d(self.lung)


def prepare(study: Study, severity: Optional[float] = None) -> Prepared:
    """Resample image (linear, min fill) and masks (nearest) to 2 mm in-plane and window."""
    sp = (float(study.spacing[0]), float(study.spacing[1]))
    x = window(resample_inplane(study.hu.astype(np.float32), sp)).astype(np.float16)
    lung = lesion = None
    if study.lung_mask is not None:
        lung = resample_inplane((np.asarray(study.lung_mask) > 0).astype(np.uint8), sp, nearest=True) > 0
    if study.lesion_mask is not None:
        lesion = resample_inplane(np.asarray(study.lesion_mask).astype(np.uint8), sp, nearest=True) > 0
    return Prepared(study.id, study.source, study.kind, study.covid, x, lung, lesion,
                    (TARGET_MM, TARGET_MM, float(study.spacing[2])), severity)
