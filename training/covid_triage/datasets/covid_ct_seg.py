"""COVID-19-CT-Seg (Ma et al., Zenodo 10.5281/zenodo.3757476): 20 COVID-19 CT volumes with
left lung, right lung and infection masks.

Published layout (the four Zenodo zips, unzipped side by side):
    COVID-19-CT-Seg_20cases/coronacases_001.nii.gz ... radiopaedia_7_85703_0.nii.gz
    Infection_Mask/<same name>            0 background, 1 infection
    Lung_Mask/<same name>                 1 LEFT lung, 2 RIGHT lung (publisher's evaluation code)
    Lung_and_Infection_Mask/<same name>   1 left lung, 2 right lung, 3 infection
Facts this loader relies on (sources in training/DATASETS.md):
- the 10 radiopaedia cases are stored windowed to [-1250, 250] HU and scaled to 0..255; they are
  turned back into HU (saturated at the window ends) and flagged with Study.hu_window;
- after header-based reorientation their image rows (anterior/posterior) are flipped relative to
  the masks, and radiopaedia_7_85703_0 also its slices: the paper authors' preparation script
  flips the image to match the masks. We do the same, then verify the result (lungs aerated,
  right lung on the right, spine posterior) so that a corrected re-release fails loudly.
The Kaggle mirror names (coronacases_org_001, radiopaedia_org_covid-19-pneumonia-7_85703_0-dcm)
are accepted for the images.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from ..study import Study, StudyRef
from . import checks, nifti
from .base import Listing, find_nifti, nifti_files, require_dir, strip_nifti_suffix, log
from .errors import DatasetError, MissingFileError, PathLike
from .geometry import apply_plan
from .loading import check_pair_headers, load_labels

NAME = "covid_ct_seg"
IMAGES, INFECTION, LUNGS, COMBINED = "COVID-19-CT-Seg_20cases", "Infection_Mask", "Lung_Mask", "Lung_and_Infection_Mask"
LAYOUT = f"{IMAGES}/*.nii.gz with {INFECTION}/, {LUNGS}/ (or {COMBINED}/) holding masks of the same names"
PUBLISHED_WINDOW = (-1250.0, 250.0)
PUB_LEFT, PUB_RIGHT, PUB_INFECTION = 1, 2, 3
OUR_RIGHT, OUR_LEFT = 1, 2
# (flip rows, flip slices) applied to the image after reorientation (authors' prepare_medseg.py).
IMAGE_FIXES = {"radiopaedia": (True, False), "radiopaedia_7_85703_0": (True, True)}


def case_id(image_name: str) -> str:
    """Image file stem -> the mask file stem (Zenodo names are identical; Kaggle's differ)."""
    stem = strip_nifti_suffix(image_name) or image_name
    stem = re.sub(r"^coronacases_org_(\d+)$", r"coronacases_\1", stem)
    return re.sub(r"^radiopaedia_org_covid-19-pneumonia-(.+)-dcm$", r"radiopaedia_\1", stem)


def image_fix(cid: str) -> Tuple[bool, bool]:
    if cid in IMAGE_FIXES:
        return IMAGE_FIXES[cid]
    return IMAGE_FIXES["radiopaedia"] if cid.startswith("radiopaedia") else (False, False)


def _masks_for(root: Path, cid: str) -> Tuple[Optional[Path], Optional[Path], Optional[Path]]:
    def find(folder: str) -> Optional[Path]:
        return find_nifti(root / folder, cid) if (root / folder).is_dir() else None
    return find(INFECTION), find(LUNGS), find(COMBINED)


def _load(image: Path, infection: Optional[Path], lungs: Optional[Path], combined: Optional[Path], cid: str) -> Study:
    values, info = nifti.read_contract(image)
    window = None
    if checks.looks_windowed_0_255(values):
        window = PUBLISHED_WINDOW
        values = checks.unwindow(values, PUBLISHED_WINDOW)
        if not cid.startswith("radiopaedia"):
            log.warning("%s: %s is stored as 0..255 although only the radiopaedia cases are published that way; "
                        "inverted with the published window %s", NAME, image, PUBLISHED_WINDOW)
    elif cid.startswith("radiopaedia"):
        log.warning("%s: %s is not 0..255 although the publisher says the radiopaedia cases are; used as HU",
                    NAME, image)
    flip_rows, flip_slices = image_fix(cid)
    hu = apply_plan(values, (0, 1, 2), (flip_rows, False, flip_slices))
    checks.check_hu(hu, image)
    checks.check_spine_posterior(hu, image)

    combined_labels = load_labels(combined, hu.shape, image) if combined is not None else None
    if infection is not None:
        lesion = load_labels(infection, hu.shape, image) > 0
    else:
        lesion = combined_labels == PUB_INFECTION  # type: ignore[operator]
    if lungs is not None:
        published = load_labels(lungs, hu.shape, image)
        lung = np.zeros(hu.shape, dtype=np.uint8)
        lung[published == PUB_RIGHT] = OUR_RIGHT
        lung[published == PUB_LEFT] = OUR_LEFT
        checks.check_lung_sides(lung, lungs, right=OUR_RIGHT, left=OUR_LEFT)
        lung_path = lungs
    else:
        # the combined map overwrites lung labels with 3 where infected: sides unknown there
        lung = combined_labels > 0  # type: ignore[operator]
        lung_path = combined
    checks.check_lungs_aerated(hu, lung, lung_path)  # type: ignore[arg-type]
    return Study(id=cid, source=NAME, hu=hu, spacing=info.spacing, covid=1, kind="covid",
                 lesion_mask=lesion, lung_mask=lung, hu_window=window)


def open_covid_ct_seg(path: PathLike, strict: bool = False) -> Listing:
    root = require_dir(Path(path), "COVID-19-CT-Seg folder", LAYOUT)
    images = require_dir(root / IMAGES, "image folder", LAYOUT)
    listing = Listing(NAME)
    for image in nifti_files(images):
        cid = case_id(image.name)
        infection, lungs, combined = _masks_for(root, cid)
        try:
            if infection is None and combined is None:
                raise MissingFileError(root / INFECTION / f"{cid}.nii.gz", f"no infection mask for {image.name} "
                                                                           f"(looked in {INFECTION}/ and {COMBINED}/)")
            if lungs is None and combined is None:
                raise MissingFileError(root / LUNGS / f"{cid}.nii.gz", f"no lung mask for {image.name} "
                                                                       f"(looked in {LUNGS}/ and {COMBINED}/)")
            info = nifti.inspect(image)
            for mask in (infection, lungs, combined):
                if mask is not None:
                    check_pair_headers(info, nifti.inspect(mask))
        except DatasetError as exc:
            listing.skip(cid, exc, strict)
            continue
        listing.append(StudyRef(id=cid, source=NAME, covid=1, kind="covid", has_lesion_mask=True, has_lung_mask=True,
                                load=functools.partial(_load, image, infection, lungs, combined, cid)))
    log.info(listing.summary())
    return listing
