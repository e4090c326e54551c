"""Writers of tiny synthetic files in the published layouts, for tests/test_datasets.py.

The reference volume is built in the package layout (rows anterior->posterior, cols patient
right->left, slices head->feet) and written to NIfTI/DICOM through world coordinates (LPS), so
a loader only passes if it undoes each file's own geometry.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence, Tuple

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

SHAPE = (12, 10, 9)
SPACING = (0.8, 0.7, 2.5)
ORIGIN_LPS = (-3.5, -20.0, 40.0)   # world position of contract voxel (0, 0, 0)
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"


def chest() -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(hu, lung_labels 1 right / 2 left, lesion) in the contract layout. Integer HU with an
    asymmetric ripple, so every flip or transpose changes the array."""
    hu = np.full(SHAPE, -1000.0, dtype=np.float32)
    hu[1:11, 1:9, :] = 40.0                                   # body
    lungs = np.zeros(SHAPE, dtype=np.uint8)
    lungs[3:8, 2:4, 1:8] = 1                                  # right lung: low cols
    lungs[3:8, 6:8, 1:8] = 2                                  # left lung
    hu[lungs > 0] = -850.0
    hu[8:11, 4:6, :] = 700.0                                  # spine: posterior midline
    hu[1, 4:6, 2:6] = 700.0                                   # sternum: small, anterior
    lesion = np.zeros(SHAPE, dtype=bool)
    lesion[3:5, 2:4, 1:3] = True                              # anterior, superior, right lung
    hu[lesion] = -500.0
    ripple = (np.arange(hu.size).reshape(SHAPE) * 7) % 5
    return hu + ripple.astype(np.float32), lungs, lesion


def _contract_dirs_lps(spacing: Sequence[float]) -> np.ndarray:
    """Columns: world step (LPS, mm) of one voxel along contract rows, cols, slices."""
    return np.array([[0, spacing[1], 0], [spacing[0], 0, 0], [0, 0, -spacing[2]]], dtype=float)


def nifti_image(contract: np.ndarray, perm: Sequence[int] = (1, 0, 2), flips: Sequence[bool] = (True, True, True),
                spacing: Sequence[float] = SPACING, dtype=np.int16) -> nib.Nifti1Image:
    """Store `contract` with storage axis s = contract axis perm[s], reversed where flips[s].
    The default (1, 0, 2) + all flips is nibabel's canonical RAS storage."""
    steps = _contract_dirs_lps(spacing)
    stored = np.transpose(contract, perm)
    stored = stored[tuple(slice(None, None, -1) if f else slice(None) for f in flips)]
    affine_lps = np.eye(4)
    origin = np.array(ORIGIN_LPS, dtype=float)
    for s, (axis, flip) in enumerate(zip(perm, flips)):
        step = steps[:, axis]
        affine_lps[:3, s] = -step if flip else step
        if flip:
            origin = origin + step * (contract.shape[axis] - 1)
    affine_lps[:3, 3] = origin
    affine_ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine_lps
    img = nib.Nifti1Image(np.ascontiguousarray(stored).astype(dtype), affine_ras)
    img.set_qform(affine_ras, code=1)
    img.set_sform(affine_ras, code=1)
    return img


def save_nifti(path: Path, contract: np.ndarray, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(nifti_image(contract, **kwargs), str(path))
    return path


def save_dicom_series(folder: Path, contract_hu: np.ndarray, row_dir=(1, 0, 0), col_dir=(0, 1, 0),
                      slope: float = 1.0, intercept: float = -1024.0, series_uid: Optional[str] = None,
                      modality: str = "CT", spacing: Sequence[float] = SPACING, shift_per_slice=(0.0, 0.0, 0.0),
                      skip_slices: Sequence[int] = (), iop_override: Optional[Sequence[float]] = None) -> str:
    """One CT series, slices written in shuffled order under unpadded names with misleading
    InstanceNumbers (the loader must order by geometry). Axial in-plane directions only."""
    folder.mkdir(parents=True, exist_ok=True)
    series_uid = series_uid or generate_uid()
    row_dir, col_dir = np.array(row_dir, float), np.array(col_dir, float)

    def contract_axis(direction):  # LPS unit vector -> (contract axis, +1/-1)
        component = int(np.argmax(np.abs(direction)))
        return {0: 1, 1: 0}[component], int(np.sign(direction[component]))

    ax_c, sign_c = contract_axis(col_dir)   # pixel rows move along col_dir
    ax_r, sign_r = contract_axis(row_dir)   # pixel columns move along row_dir
    steps = _contract_dirs_lps(spacing)
    order = np.random.default_rng(7).permutation(contract_hu.shape[2])
    for n, k in enumerate(order):
        if k in skip_slices:
            continue
        plane = contract_hu[:, :, k] if ax_c == 0 else contract_hu[:, :, k].T
        plane = plane[:: sign_c, :: sign_r]
        corner = [0, 0, int(k)]
        corner[ax_c] = 0 if sign_c > 0 else contract_hu.shape[ax_c] - 1
        corner[ax_r] = 0 if sign_r > 0 else contract_hu.shape[ax_r] - 1
        position = np.array(ORIGIN_LPS) + steps @ np.array(corner, float) + np.array(shift_per_slice) * k
        stored = np.rint((plane - intercept) / slope)
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = CT_IMAGE_STORAGE
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.SOPClassUID, ds.SOPInstanceUID = CT_IMAGE_STORAGE, ds.file_meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.SeriesInstanceUID, ds.StudyInstanceUID = modality, series_uid, "1.2.3.4"
        ds.InstanceNumber = int(len(order) - n)
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [float(v) for v in (iop_override or [*row_dir, *col_dir])]
        ds.ImagePositionPatient = [float(v) for v in position]
        ds.PixelSpacing = [float(spacing[ax_c]), float(spacing[ax_r])]
        ds.SliceThickness = float(spacing[2])
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        signed = stored.min() < 0
        ds.PixelRepresentation = 1 if signed else 0
        ds.PixelData = stored.astype(np.int16 if signed else np.uint16).tobytes()
        ds.save_as(str(folder / f"IM{n + 1}.dcm"), enforce_file_format=True)
    return series_uid
