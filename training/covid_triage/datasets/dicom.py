"""CT DICOM series: cheap discovery for listing, geometric stacking + HU + reorientation on load.

Slices are ordered by their position along the slice normal (ImagePositionPatient .
(row x column cosines)), never by file name or InstanceNumber. HU = stored * RescaleSlope +
RescaleIntercept per file. The in-plane axes come from ImageOrientationPatient (LPS), so any
axial orientation (flipped rows/cols, transposed) lands in the same contract layout.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from .errors import GeometryError, OrientationError, UnreadableFileError
from .geometry import COS_TOLERANCE, to_contract

log = logging.getLogger("covid_triage.datasets")

NON_DICOM_SUFFIXES = {".json", ".txt", ".csv", ".xml", ".md", ".nii", ".gz", ".xlsx", ".zip", ".png", ".jpg"}
DUPLICATE_MM = 1e-3
UNEVEN_FRACTION = 0.1   # slice gaps more than 10 % off the median: a missing slice or a mixed series


@dataclass(frozen=True)
class SeriesFolder:
    folder: Path
    files: Tuple[Path, ...]
    series_uid: str
    modality: str


def _candidate_files(folder: Path) -> List[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() not in NON_DICOM_SUFFIXES
                  and p.name != "DICOMDIR" and not p.name.startswith("."))


def _read_header(path: Path) -> Optional[pydicom.Dataset]:
    """Header without pixels; None for files that are not DICOM and do not claim to be."""
    try:
        return pydicom.dcmread(str(path), stop_before_pixels=True)
    except InvalidDicomError:
        if path.suffix.lower() == ".dcm":
            raise UnreadableFileError(path, "named .dcm but not a DICOM file")
        return None
    except Exception as exc:
        raise UnreadableFileError(path, f"DICOM header cannot be read ({type(exc).__name__}: {exc})") from exc


def scan_folder(folder: Path) -> Optional[SeriesFolder]:
    """One header per folder (fast listing): the folder's series UID and modality, or None
    when the folder holds no DICOM files."""
    files = _candidate_files(folder)
    for path in files:
        header = _read_header(path)
        if header is not None:
            return SeriesFolder(folder, tuple(files), str(header.get("SeriesInstanceUID", "")),
                                str(header.get("Modality", "")))
    return None


def find_series(root: Path) -> List[SeriesFolder]:
    """Every folder under `root` (inclusive) that holds DICOM files, sorted by path."""
    found = []
    for folder in sorted([root, *[p for p in root.rglob("*") if p.is_dir()]]):
        series = scan_folder(folder)
        if series is not None:
            found.append(series)
    return found


def _floats(ds: pydicom.Dataset, keyword: str, count: int, path: Path) -> np.ndarray:
    value = ds.get(keyword)
    if value is None or len(value) != count:
        raise GeometryError(path, f"{keyword} missing or malformed: {value!r}")
    return np.array([float(v) for v in value], dtype=float)


def load_series(series: SeriesFolder) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """HU volume (float32) in the contract layout and its spacing (mm)."""
    slices: List[Tuple[Path, pydicom.Dataset]] = []
    other_series: Dict[str, int] = {}
    for path in series.files:
        try:
            ds = pydicom.dcmread(str(path))
        except InvalidDicomError:
            if path.suffix.lower() == ".dcm":
                raise UnreadableFileError(path, "named .dcm but not a DICOM file")
            continue
        except Exception as exc:
            raise UnreadableFileError(path, f"cannot be read ({type(exc).__name__}: {exc})") from exc
        uid = str(ds.get("SeriesInstanceUID", ""))
        if uid != series.series_uid:
            other_series[uid] = other_series.get(uid, 0) + 1
            continue
        image_type = [str(v).upper() for v in ds.get("ImageType", [])]
        if "LOCALIZER" in image_type:
            other_series["localizer"] = other_series.get("localizer", 0) + 1
            continue
        slices.append((path, ds))
    if other_series:
        log.warning("%s: ignored %d file(s) of other series/localizers in the same folder",
                    series.folder, sum(other_series.values()))
    if len(slices) < 2:
        raise GeometryError(series.folder, f"series {series.series_uid} has {len(slices)} image slice(s); need >= 2")

    first_path, first = slices[0]
    iop = _floats(first, "ImageOrientationPatient", 6, first_path)
    row_dir, col_dir = iop[:3], iop[3:]   # row_dir: along a row (column index grows); col_dir: down a column
    normal = np.cross(row_dir, col_dir)
    if np.linalg.norm(normal) < 0.5:
        raise GeometryError(first_path, f"ImageOrientationPatient is degenerate: {iop.tolist()}")
    normal /= np.linalg.norm(normal)
    if abs(normal[2]) < COS_TOLERANCE:
        raise OrientationError(first_path, f"non-axial series: slice normal {normal.round(3).tolist()} is not along the "
                                           "patient head-feet axis (ImageOrientationPatient "
                                           f"{iop.round(4).tolist()})")
    shape = (int(first.Rows), int(first.Columns))
    pixel_spacing = _floats(first, "PixelSpacing", 2, first_path)
    positions = []
    for path, ds in slices:
        if not np.allclose(_floats(ds, "ImageOrientationPatient", 6, path), iop, atol=1e-3):
            raise GeometryError(path, "ImageOrientationPatient differs from the rest of the series")
        if (int(ds.Rows), int(ds.Columns)) != shape:
            raise GeometryError(path, f"image size {(int(ds.Rows), int(ds.Columns))} differs from {shape}")
        if not np.allclose(_floats(ds, "PixelSpacing", 2, path), pixel_spacing, atol=1e-4):
            raise GeometryError(path, "PixelSpacing differs from the rest of the series")
        positions.append(_floats(ds, "ImagePositionPatient", 3, path))

    along = np.array([p @ normal for p in positions])
    order = np.argsort(along, kind="stable")
    along_sorted = along[order]
    gaps = np.diff(along_sorted)
    if np.any(gaps < DUPLICATE_MM):
        dup = slices[int(order[int(np.argmin(gaps)) + 1])][0]
        raise GeometryError(dup, "two slices share the same position (duplicate or multi-phase series)")
    step = float(np.median(gaps))
    if np.max(np.abs(gaps - step)) > UNEVEN_FRACTION * step + 0.01:
        raise GeometryError(series.folder, f"uneven slice spacing (gaps {gaps.min():.2f}..{gaps.max():.2f} mm, median "
                                           f"{step:.2f}): missing slices or a mixed series")
    deltas = np.diff(np.array(positions)[order], axis=0)
    shear = np.linalg.norm(deltas - np.outer(deltas @ normal, normal), axis=1)
    if np.max(shear) > 0.1 * step:
        raise GeometryError(series.folder, f"slice positions drift {np.max(shear):.2f} mm sideways per slice "
                                           "(gantry tilt?): stacking would shear the anatomy")

    volume = np.empty(shape + (len(slices),), dtype=np.float32)
    for k, index in enumerate(order):
        path, ds = slices[int(index)]
        try:
            pixels = ds.pixel_array
        except Exception as exc:
            raise UnreadableFileError(path, f"pixel data cannot be decoded ({type(exc).__name__}: {exc})") from exc
        slope = float(ds.get("RescaleSlope", 1) or 1)
        intercept = float(ds.get("RescaleIntercept", 0) or 0)
        volume[:, :, k] = pixels.astype(np.float32) * np.float32(slope) + np.float32(intercept)

    # array axis 0 (row index) moves along col_dir, axis 1 (column index) along row_dir,
    # axis 2 (sorted slices) along +normal. PixelSpacing = (between rows, between columns).
    dirs = np.stack([col_dir, row_dir, normal], axis=1)
    return to_contract(volume, dirs, (pixel_spacing[0], pixel_spacing[1], step), series.folder)
