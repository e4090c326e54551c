"""Reorientation of any axis-aligned volume into the package layout (notes §3).

Contract: array (rows, cols, slices) with rows anterior->posterior, cols patient right->left,
slices head->feet. In DICOM patient coordinates (LPS: +x patient left, +y posterior,
+z head) that is: rows along +y, cols along +x, slices along -z. NIfTI affines are RAS
(+x right, +y anterior, +z head), i.e. LPS with x and y negated.

Everything goes through `to_contract`, which takes the unit direction (in LPS) of each array
axis: a NIfTI affine or a DICOM ImageOrientationPatient/position set both reduce to that.
"""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

from .errors import OrientationError, PathLike

# Axes more than ~10 degrees off the patient axes are refused: nearest-axis reorientation
# would then misplace anatomy by more than a few voxels across a 300 mm field of view.
COS_TOLERANCE = 0.985

RAS_TO_LPS = np.diag([-1.0, -1.0, 1.0])
# Target array axis for each LPS component (x, y, z) and the sign that axis must point to.
_LPS_TO_TARGET_AXIS = {0: 1, 1: 0, 2: 2}
_TARGET_SIGN = {0: 1.0, 1: 1.0, 2: -1.0}  # rows +y (posterior), cols +x (left), slices -z (feet)


def plan_contract(dirs_lps: np.ndarray, where: PathLike) -> Tuple[Tuple[int, int, int], Tuple[bool, bool, bool]]:
    """For unit directions (3x3, column a = LPS direction of array axis a) return
    (perm, flips): `np.transpose(arr, perm)` then flipping output axes where flips[t] gives the
    contract layout. Raises OrientationError for oblique or degenerate directions."""
    dirs = np.asarray(dirs_lps, dtype=float)
    if dirs.shape != (3, 3) or not np.all(np.isfinite(dirs)):
        raise OrientationError(where, f"direction matrix is not a finite 3x3: {dirs.tolist()}")
    source_for_target = [-1, -1, -1]
    flips = [False, False, False]
    for axis in range(3):
        col = dirs[:, axis]
        norm = float(np.linalg.norm(col))
        if norm == 0:
            raise OrientationError(where, f"array axis {axis} has a zero direction vector")
        col = col / norm
        component = int(np.argmax(np.abs(col)))
        if abs(col[component]) < COS_TOLERANCE:
            angle = float(np.degrees(np.arccos(min(1.0, abs(col[component])))))
            raise OrientationError(
                where, f"oblique geometry: array axis {axis} is {angle:.1f} degrees off the nearest patient axis "
                f"(limit {np.degrees(np.arccos(COS_TOLERANCE)):.1f}); resample to an axial grid first")
        target = _LPS_TO_TARGET_AXIS[component]
        if source_for_target[target] != -1:
            raise OrientationError(where, f"two array axes point along the same patient axis: {dirs.round(3).tolist()}")
        source_for_target[target] = axis
        flips[target] = bool(np.sign(col[component]) != _TARGET_SIGN[target])
    return (source_for_target[0], source_for_target[1], source_for_target[2]), (flips[0], flips[1], flips[2])


def apply_plan(arr: np.ndarray, perm: Sequence[int], flips: Sequence[bool]) -> np.ndarray:
    out = np.transpose(arr, tuple(perm))
    index = tuple(slice(None, None, -1) if f else slice(None) for f in flips)
    return np.ascontiguousarray(out[index])


def to_contract(arr: np.ndarray, dirs_lps: np.ndarray, spacing: Sequence[float],
                where: PathLike) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """Reorient `arr` (3D, per-axis `spacing` in mm) into the contract layout."""
    perm, flips = plan_contract(dirs_lps, where)
    return apply_plan(arr, perm, flips), tuple(float(spacing[a]) for a in perm)  # type: ignore[return-value]


def affine_to_dirs_spacing(affine: np.ndarray, where: PathLike) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """NIfTI (RAS) voxel->world affine -> (unit LPS directions per array axis, voxel sizes)."""
    linear = np.asarray(affine, dtype=float)[:3, :3]
    sizes = np.linalg.norm(linear, axis=0)
    if not np.all(np.isfinite(sizes)) or np.any(sizes <= 0):
        raise OrientationError(where, f"affine has zero or invalid voxel sizes: {sizes.tolist()}")
    return RAS_TO_LPS @ (linear / sizes), (float(sizes[0]), float(sizes[1]), float(sizes[2]))
