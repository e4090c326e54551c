"""Shared `.load()` steps for NIfTI-based datasets: image -> HU checks, masks -> same grid."""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

import numpy as np

from . import checks, nifti
from .errors import PathLike


def load_hu(path: PathLike) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """Image in the contract layout, checked to be HU and the right way up."""
    hu, info = nifti.read_contract(path)
    checks.check_hu(hu, info.path)
    checks.check_spine_posterior(hu, info.path)
    return hu, info.spacing


def load_labels(path: PathLike, image_shape: Tuple[int, ...], image_path: PathLike) -> np.ndarray:
    """Integer label map on the image grid (rounded; masks are sometimes stored as float)."""
    values, info = nifti.read_contract(path)
    checks.check_mask_shape(image_shape, values.shape, Path(path), image_path)
    return np.rint(values).astype(np.int16)


def check_pair_headers(image: nifti.NiftiInfo, mask: nifti.NiftiInfo) -> None:
    """Listing-time check (headers only): same grid size after reorientation."""
    checks.check_mask_shape(image.contract_shape, mask.contract_shape, mask.path, image.path)
