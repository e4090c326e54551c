"""MosMedData "COVID19_1110" (Research and Practical Clinical Center for Diagnostics and
Telemedicine Technologies, Moscow; mosmed.ai).

Published layout (confirmed from the authors' download script and third-party loaders):
    COVID19_1110/studies/CT-0/study_0001.nii.gz ... CT-4/study_1110.nii.gz
    COVID19_1110/masks/study_0255_mask.nii.gz ... study_0304_mask.nii.gz   (50 CT-1 studies)
    COVID19_1110/dataset_registry.xlsx                                        (not needed)
CT-0 (254) has no COVID-19 signs -> negative; CT-1..CT-4 (684/125/45/2) -> positive.
Masks are binary (ground glass + consolidation). The NIfTI holds HU (checked on load).
No lung masks are published (the paper predicted them with the lung net).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from ..study import Study, StudyRef
from . import nifti
from .base import Listing, find_nifti, nifti_files, require_dir, strip_nifti_suffix, log
from .errors import DatasetError, LayoutError, MissingFileError, PathLike
from .loading import check_pair_headers, load_hu, load_labels

NAME = "mosmed"
CATEGORY = re.compile(r"^CT-([0-4])$")
MASKED_STUDIES = range(255, 305)   # study_0255 .. study_0304 carry the 50 published masks
LAYOUT = "COVID19_1110/studies/CT-{0..4}/study_NNNN.nii.gz and COVID19_1110/masks/study_NNNN_mask.nii.gz"


def _studies_dir(root: Path) -> Path:
    if (root / "COVID19_1110" / "studies").is_dir():
        return root / "COVID19_1110" / "studies"   # the user pointed at the folder holding the download
    if (root / "studies").is_dir():
        return root / "studies"
    if any(CATEGORY.match(p.name) for p in root.iterdir() if p.is_dir()):
        return root   # the user pointed at .../studies itself
    raise LayoutError(root, f"no studies/CT-0..CT-4 folders; expected layout: {LAYOUT}")


def _load(image: Path, mask: Path | None, study_id: str, covid: int) -> Study:
    hu, spacing = load_hu(image)
    lesion = None
    if mask is not None:
        lesion = load_labels(mask, hu.shape, image) > 0
    return Study(id=study_id, source=NAME, hu=hu, spacing=spacing, covid=covid,
                 kind="covid" if covid else "normal", lesion_mask=lesion)


def open_mosmed(path: PathLike, strict: bool = False) -> Listing:
    root = require_dir(Path(path), "MosMedData folder", LAYOUT)
    studies = _studies_dir(root)
    masks_dir = studies.parent / "masks" if studies.name == "studies" else root / "masks"
    listing = Listing(NAME)
    seen = set()
    categories = sorted(p for p in studies.iterdir() if p.is_dir() and CATEGORY.match(p.name))
    if not categories:
        raise LayoutError(studies, f"no CT-0..CT-4 folders; expected layout: {LAYOUT}")
    for category in categories:
        covid = int(int(CATEGORY.match(category.name).group(1)) > 0)  # type: ignore[union-attr]
        for image in nifti_files(category):
            study_id = strip_nifti_suffix(image.name) or image.name
            seen.add(study_id)
            try:
                info = nifti.inspect(image)
                mask = find_nifti(masks_dir, f"{study_id}_mask") if masks_dir.is_dir() else None
                if mask is not None:
                    check_pair_headers(info, nifti.inspect(mask))
                elif masks_dir.is_dir() and _expects_mask(study_id):
                    log.warning("%s: %s has no mask in %s although the published set has one; listed without",
                                NAME, study_id, masks_dir)
            except DatasetError as exc:
                listing.skip(study_id, exc, strict)
                continue
            listing.append(StudyRef(id=study_id, source=NAME, covid=covid, kind="covid" if covid else "normal",
                                    has_lesion_mask=mask is not None, has_lung_mask=False,
                                    load=functools.partial(_load, image, mask, study_id, covid)))
    if masks_dir.is_dir():
        for mask in nifti_files(masks_dir):
            stem = strip_nifti_suffix(mask.name) or mask.name
            study_id = stem[: -len("_mask")] if stem.endswith("_mask") else stem
            if study_id not in seen:
                listing.skip(study_id, MissingFileError(mask, f"mask without a study file {study_id}.nii.gz under "
                                                              f"{studies}/CT-*"), strict)
    log.info(listing.summary())
    return listing


def _expects_mask(study_id: str) -> bool:
    match = re.fullmatch(r"study_(\d{4})", study_id)
    return bool(match) and int(match.group(1)) in MASKED_STUDIES  # type: ignore[union-attr]
