"""Data sanity checks run on `.load()`: cheap, and aimed at the silent failures that matter
(intensities that are not HU, masks that do not sit on the anatomy, an upside-down image).
Each raises a typed error naming the file; none of them modifies data."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from .errors import AnatomyCheckError, IntensityError, MaskAlignmentError, MaskShapeError, PathLike

AIR_HU = -500.0            # every chest CT has air (lungs, outside the body) below this
SOFT_TISSUE_HU = -300.0    # lung-mask voxels above this are not aerated lung
MAX_NON_AERATED = 0.6      # more than this inside a lung mask means the mask is misplaced
BONE_HU = 200.0            # also valid for the 0-255 sets, whose window tops out at 250 HU
MIN_MIDLINE_BONE = 50      # too little bone in the midline band: no opinion
MIN_POSTERIOR_BONE = 0.3   # spine + table dominate the posterior half in any chest CT


def looks_windowed_0_255(values: np.ndarray) -> bool:
    """True for integer images confined to 0..255 (a display window, not HU)."""
    lo, hi = float(values.min()), float(values.max())
    return lo >= 0.0 and hi <= 255.0 and bool(np.all(values == np.round(values)))


def unwindow(values: np.ndarray, window: Tuple[float, float]) -> np.ndarray:
    """Invert the linear map [lo, hi] HU -> [0, 255] (values outside the window stay clipped)."""
    lo, hi = window
    return (lo + values.astype(np.float32) * np.float32((hi - lo) / 255.0)).astype(np.float32)


def check_hu(hu: np.ndarray, where: PathLike) -> None:
    """HU must contain air; refuse 0..255 display images and raw stored values."""
    if looks_windowed_0_255(hu):
        raise IntensityError(where, "values are integers in 0..255: a windowed display image, not HU, "
                                    "and this dataset does not publish the window needed to invert it")
    lowest = float(hu.min())
    if lowest >= AIR_HU:
        raise IntensityError(where, f"lowest value is {lowest:.0f}, no air below {AIR_HU:.0f} HU: these are not HU "
                                    "(missing rescale slope/intercept?)")


def check_mask_shape(image_shape: Tuple[int, ...], mask_shape: Tuple[int, ...], mask_path: PathLike,
                     image_path: PathLike) -> None:
    if tuple(image_shape) != tuple(mask_shape):
        raise MaskShapeError(mask_path, f"mask shape {tuple(mask_shape)} != image shape {tuple(image_shape)} "
                                        f"of {image_path} (both in the (rows, cols, slices) layout)")


def check_lungs_aerated(hu: np.ndarray, lung: np.ndarray, mask_path: PathLike) -> None:
    """Most of a lung mask must be aerated; otherwise it is not on the lungs of this image."""
    inside = lung > 0
    count = int(inside.sum())
    if count == 0:
        return
    non_aerated = float((hu[inside] > SOFT_TISSUE_HU).mean())
    if non_aerated > MAX_NON_AERATED:
        hints = []
        for name, flipped in (("rows (anterior/posterior)", hu[::-1]), ("slices (head/feet)", hu[:, :, ::-1]),
                              ("cols (right/left)", hu[:, ::-1])):
            hints.append(f"{name} flipped: {float((flipped[inside] > SOFT_TISSUE_HU).mean()):.0%}")
        raise MaskAlignmentError(mask_path, f"{non_aerated:.0%} of the lung mask lies on tissue above "
                                            f"{SOFT_TISSUE_HU:.0f} HU (limit {MAX_NON_AERATED:.0%}): mask and image "
                                            f"are misaligned; with the image " + ", ".join(hints))


def check_lung_sides(labels: np.ndarray, mask_path: PathLike, right: int = 1, left: int = 2) -> None:
    """In the contract layout the patient's right lung has the lower column indices."""
    cols = np.arange(labels.shape[1])[None, :, None]
    right_voxels, left_voxels = labels == right, labels == left
    if not right_voxels.any() or not left_voxels.any():
        return
    right_col = float((cols * right_voxels).sum() / right_voxels.sum())
    left_col = float((cols * left_voxels).sum() / left_voxels.sum())
    if right_col >= left_col:
        raise MaskAlignmentError(mask_path, f"right-lung label sits at mean column {right_col:.1f}, left at "
                                            f"{left_col:.1f}: right must be at lower columns (patient right->left); "
                                            "labels swapped or image left/right flipped")


def check_spine_posterior(hu: np.ndarray, where: PathLike) -> Optional[float]:
    """Bone in the midline band must be mostly in the posterior half (vertebrae, not sternum).
    Returns the posterior fraction, or None when there is too little bone to judge."""
    body = hu > AIR_HU
    cols_with_body = np.flatnonzero(body.any(axis=(0, 2)))
    rows_with_body = np.flatnonzero(body.any(axis=(1, 2)))
    if cols_with_body.size == 0 or rows_with_body.size == 0:
        return None
    c0, c1 = cols_with_body[0], cols_with_body[-1]
    centre, half_band = (c0 + c1) / 2.0, max(1.0, 0.1 * (c1 - c0 + 1))
    band = slice(int(np.floor(centre - half_band)), int(np.ceil(centre + half_band)) + 1)
    bone = hu[:, band, :] > BONE_HU
    total = int(bone.sum())
    if total < MIN_MIDLINE_BONE:
        return None
    mid_row = (rows_with_body[0] + rows_with_body[-1]) / 2.0
    posterior = int(bone[int(np.ceil(mid_row)):].sum())
    fraction = posterior / total
    if fraction < MIN_POSTERIOR_BONE:
        raise AnatomyCheckError(where, f"only {fraction:.0%} of midline bone is in the posterior half: the image "
                                       "looks upside down (rows must run anterior->posterior); check the header")
    return fraction
