"""NSCLC-Radiomics (TCIA, DICOM CT of 422 lung cancer patients LUNG1-001..LUNG1-422) with the
PleThora thoracic cavity masks (TCIA analysis result, NIfTI), plus plain folders of CT DICOM.
All are COVID-19 negatives.

Published layout (the TCIA downloads, side by side):
    NSCLC-Radiomics/LUNG1-001/<study folder>/<series folder>/*.dcm   (CT, plus RTSTRUCT/SEG series)
    Thoracic_Cavities/LUNG1-001/LUNG1-001_thor_cav_primary_reviewer.nii.gz
The CT series is found by Modality (one header per folder); its slices are ordered by geometry.
The mask NIfTI is reoriented by its own header (TCIA notes it is stored RPI while the DICOM is
RAI, so voxel-wise overlays look flipped; world coordinates agree) and must then match the CT
grid exactly. A patient without a mask is listed without one (negatives need no mask).
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from ..study import Study, StudyRef
from . import checks, nifti
from .base import Listing, nifti_files, require_dir, strip_nifti_suffix, log
from .dicom import SeriesFolder, find_series, load_series
from .errors import DatasetError, GeometryError, LayoutError, MissingFileError, PathLike

NAME, PLAIN_NAME = "nsclc", "dicom_negatives"
PATIENTS, MASKS = "NSCLC-Radiomics", "Thoracic_Cavities"
LAYOUT = f"{PATIENTS}/LUNG1-NNN/<study>/<series>/*.dcm and {MASKS}/LUNG1-NNN/LUNG1-NNN_thor_cav_primary_reviewer.nii.gz"
SPACING_TOLERANCE_MM = 0.01


def _load(series: SeriesFolder, mask: Optional[Path], study_id: str, source: str, kind: str) -> Study:
    hu, spacing = load_series(series)
    checks.check_hu(hu, series.folder)
    checks.check_spine_posterior(hu, series.folder)
    lung = None
    if mask is not None:
        values, info = nifti.read_contract(mask)
        checks.check_mask_shape(hu.shape, values.shape, mask, series.folder)
        if not np.allclose(info.spacing, spacing, atol=SPACING_TOLERANCE_MM):
            log.warning("%s: %s spacing %s differs from the CT's %s; grids assumed identical (same shape)",
                        source, mask, info.spacing, spacing)
        lung = values > 0.5
        checks.check_lungs_aerated(hu, lung, mask)
    return Study(id=study_id, source=source, hu=hu, spacing=spacing, covid=0, kind=kind, lung_mask=lung)


def _ct_series(folder: Path) -> List[SeriesFolder]:
    return [s for s in find_series(folder) if s.modality.upper() == "CT"]


def _thoracic_mask(masks_root: Path, patient: str) -> Optional[Path]:
    folder = masks_root / patient
    if not folder.is_dir():
        return None
    candidates = [p for p in nifti_files(folder) if "thor_cav" in (strip_nifti_suffix(p.name) or "")]
    primary = [p for p in candidates if "primary" in p.name]
    return (primary or candidates or [None])[0]


def open_nsclc(path: PathLike, strict: bool = False) -> Listing:
    root = require_dir(Path(path), "NSCLC-Radiomics folder", LAYOUT)
    if (root / PATIENTS).is_dir():
        patients_root, masks_root = root / PATIENTS, root / MASKS
    elif any(p.name.startswith("LUNG1-") for p in root.iterdir() if p.is_dir()):
        patients_root, masks_root = root, root.parent / MASKS
    else:
        raise LayoutError(root, f"no {PATIENTS}/LUNG1-* folders; expected layout: {LAYOUT} "
                                f"(use '{PLAIN_NAME}' for a plain folder of CT series)")
    if not masks_root.is_dir():
        log.warning("%s: no %s folder next to %s: studies are listed without lung masks", NAME, MASKS, patients_root)
    listing = Listing(NAME)
    for patient in sorted(p for p in patients_root.iterdir() if p.is_dir()):
        try:
            series = _ct_series(patient)
            if not series:
                raise MissingFileError(patient, "no CT DICOM series found under this patient folder")
            if len(series) > 1:
                log.warning("%s: %s has %d CT series; using the one with most files", NAME, patient.name, len(series))
            chosen = max(series, key=lambda s: len(s.files))
            mask = _thoracic_mask(masks_root, patient.name) if masks_root.is_dir() else None
            if mask is not None:
                nifti.inspect(mask)   # header readable, orientation sane
        except DatasetError as exc:
            listing.skip(patient.name, exc, strict)
            continue
        listing.append(StudyRef(id=patient.name, source=NAME, covid=0, kind="cancer", has_lesion_mask=False,
                                has_lung_mask=mask is not None,
                                load=functools.partial(_load, chosen, mask, patient.name, NAME, "cancer")))
    log.info(listing.summary())
    return listing


def open_dicom_negatives(path: PathLike, strict: bool = False) -> Listing:
    """Any folder tree of CT DICOM series (one series per folder), each a COVID-19 negative
    without masks. Study ids are SeriesInstanceUIDs (folder names may carry patient names)."""
    root = require_dir(Path(path), "DICOM folder", "any folder tree with one CT series per folder")
    listing = Listing(PLAIN_NAME)
    by_uid: Dict[str, SeriesFolder] = {}
    try:
        found = find_series(root)
    except DatasetError as exc:
        listing.skip(root.name, exc, strict)
        found = []
    for series in found:
        if series.modality.upper() != "CT":
            log.info("%s: ignoring a %s series folder", PLAIN_NAME, series.modality or "non-CT")
            continue
        uid = series.series_uid or str(series.folder)
        if uid in by_uid:
            listing.skip(uid, GeometryError(series.folder, f"series {uid} is split across folders (also in "
                                                           f"{by_uid[uid].folder}); merge them into one folder"),
                         strict)
            continue
        by_uid[uid] = series
        listing.append(StudyRef(id=uid, source=PLAIN_NAME, covid=0, kind="non_covid", has_lesion_mask=False,
                                has_lung_mask=False,
                                load=functools.partial(_load, series, None, uid, PLAIN_NAME, "non_covid")))
    log.info(listing.summary())
    return listing
