"""NIfTI reading: header-only inspection for listing, pixels + reorientation on load."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

import nibabel as nib
import numpy as np

from .errors import MissingFileError, OrientationError, PathLike, UnreadableFileError
from .geometry import affine_to_dirs_spacing, plan_contract, apply_plan


@dataclass(frozen=True)
class NiftiInfo:
    path: Path
    shape: Tuple[int, int, int]             # as stored
    contract_shape: Tuple[int, int, int]    # after reorientation
    spacing: Tuple[float, float, float]     # contract order, mm
    perm: Tuple[int, int, int]
    flips: Tuple[bool, bool, bool]
    axcodes: Tuple[str, str, str]           # nibabel codes of the stored axes, for messages


def _chosen_affine(img: nib.Nifti1Image, path: Path) -> np.ndarray:
    """The affine nibabel uses (sform if coded, else qform), refusing files without any
    orientation and files whose qform and sform disagree on axis directions."""
    header = img.header
    sform, sform_code = header.get_sform(coded=True)
    qform, qform_code = header.get_qform(coded=True)
    if not sform_code and not qform_code:
        raise OrientationError(path, "neither sform nor qform is set: the header carries no patient orientation")
    if sform_code and qform_code:
        s_codes, q_codes = nib.aff2axcodes(sform), nib.aff2axcodes(qform)
        if s_codes != q_codes:
            raise OrientationError(path, f"sform says {''.join(map(str, s_codes))} but qform says "
                                         f"{''.join(map(str, q_codes))}; refusing to guess which is right")
    return np.asarray(img.affine, dtype=float)


def _open(path: PathLike) -> nib.Nifti1Image:
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(path, "file not found")
    try:
        img = nib.load(str(path))
    except Exception as exc:  # nibabel raises several unrelated types for corrupt files
        raise UnreadableFileError(path, f"not a readable NIfTI file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise UnreadableFileError(path, f"expected NIfTI, got {type(img).__name__}")
    return img


def _shape3(img: nib.Nifti1Image, path: Path) -> Tuple[int, int, int]:
    shape = tuple(int(s) for s in img.shape)
    while len(shape) > 3 and shape[-1] == 1:
        shape = shape[:-1]
    if len(shape) != 3:
        raise UnreadableFileError(path, f"expected a 3D volume, got shape {tuple(img.shape)}")
    return shape  # type: ignore[return-value]


def inspect(path: PathLike) -> NiftiInfo:
    """Header only (no pixel read): shape, contract geometry, orientation sanity."""
    path = Path(path)
    img = _open(path)
    shape = _shape3(img, path)
    affine = _chosen_affine(img, path)
    dirs, sizes = affine_to_dirs_spacing(affine, path)
    perm, flips = plan_contract(dirs, path)
    return NiftiInfo(
        path=path, shape=shape,
        contract_shape=(shape[perm[0]], shape[perm[1]], shape[perm[2]]),
        spacing=(sizes[perm[0]], sizes[perm[1]], sizes[perm[2]]),
        perm=perm, flips=flips, axcodes=tuple(str(c) for c in nib.aff2axcodes(affine)))  # type: ignore[arg-type]


def read_contract(path: PathLike) -> Tuple[np.ndarray, NiftiInfo]:
    """Pixels (scaled by scl_slope/scl_inter, as float32) in the contract layout."""
    info = inspect(path)
    img = _open(info.path)
    try:
        data = np.asarray(img.dataobj, dtype=np.float32)
    except Exception as exc:
        raise UnreadableFileError(info.path, f"pixel data cannot be read ({type(exc).__name__}: {exc})") from exc
    data = data.reshape(info.shape)
    if not np.all(np.isfinite(data)):
        raise UnreadableFileError(info.path, "pixel data contains NaN or infinite values")
    return apply_plan(data, info.perm, info.flips), info
