"""The three real COVID-CT-MD sample series in ../shared/data/covid-ct-md (P001 COVID-19,
cap001 community-acquired pneumonia, normal001 normal).

Read with pydicom (imported lazily), sorted by ImagePositionPatient z descending (head first),
HU = stored * slope + intercept. The series have ImageOrientationPatient [1,0,0,0,1,0], so rows
already run anterior->posterior and cols patient right->left: the model layout. Decoded
volumes are cached as .npz under .cache/ctmd (git-ignored), never in the repository.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "covid-ct-md"
CACHE_DIR = REPO_ROOT / ".cache" / "ctmd"
CASES = ("P001", "cap001", "normal001")
EXPECTED_IOP = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def available(case: str = "normal001", data_dir: Path = DATA_DIR) -> bool:
    return (Path(data_dir) / case).is_dir()


def read_series(folder: Path) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """-> (HU float32 (rows, cols, slices) head first, (row, col, slice) spacing in mm)."""
    import pydicom

    files = sorted(Path(folder).glob("*.dcm"))
    if not files:
        raise FileNotFoundError(f"no .dcm files in {folder}")
    ds = [pydicom.dcmread(str(f)) for f in files]
    for d in ds:
        iop = tuple(round(float(v), 4) for v in d.ImageOrientationPatient)
        if iop != EXPECTED_IOP:
            raise ValueError(f"{folder}: unexpected ImageOrientationPatient {iop}")
    ds.sort(key=lambda d: -float(d.ImagePositionPatient[2]))
    z = np.array([float(d.ImagePositionPatient[2]) for d in ds])
    dz = float(np.median(np.abs(np.diff(z)))) if len(z) > 1 else float(ds[0].SliceThickness)
    hu = np.stack([d.pixel_array.astype(np.float32) * float(d.RescaleSlope) + float(d.RescaleIntercept)
                   for d in ds], axis=-1)
    # DICOM PixelSpacing is (row spacing, col spacing)
    sp = tuple(float(v) for v in ds[0].PixelSpacing)
    return hu, (sp[0], sp[1], dz)


def load_case(case: str, data_dir: Path = DATA_DIR, cache_dir: Path = CACHE_DIR):
    """Cached read: -> (HU float32, spacing)."""
    cache = Path(cache_dir) / f"{case}.npz"
    if cache.exists():
        z = np.load(cache)
        return z["hu"].astype(np.float32), tuple(float(v) for v in z["spacing"])
    hu, spacing = read_series(Path(data_dir) / case)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, hu=hu.astype(np.int16), spacing=np.array(spacing))
    return hu, spacing


def slice_labels(case: str, data_dir: Path = DATA_DIR) -> Optional[List[int]]:
    """labels.json `slice_infected` (index 0 = head-most slice) or None (normal001 has none)."""
    p = Path(data_dir) / case / "labels.json"
    if not p.exists():
        return None
    return [int(v) for v in json.loads(p.read_text())["slice_infected"]]
