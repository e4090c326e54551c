"""MedSeg COVID-19 CT segmentation datasets (medicalsegmentation.com/covid19; files also on
figshare). Two published sets:

Set 2, the one used here: 9 axial volumes from Radiopaedia (the zips unzipped side by side)
    rp_im/1.nii.gz ... rp_im/9.nii.gz          CT (checked to be HU on load)
    rp_msk/N.nii.gz                            1 ground glass, 2 consolidation, 3 pleural effusion
    rp_lung_msk/N.nii.gz                       lungs (> 0; sides not encoded reliably -> bool)
  Lesion mask = labels {1, 2}: the paper's lesions are ground glass and consolidation; pleural
  effusion lies outside the lung parenchyma and is not a COVID-19 lesion pattern.

Set 1: tr_im.nii.gz / tr_mask.nii.gz (+ val_im.nii.gz): 100 (+10) axial slices from ~40
  different patients, stacked into one file. They are not a volume: neighbouring "slices" come
  from different patients, and the classification head needs >= 8 contiguous slices of one
  study. The paper's authors did not use them either (their preparation script reads only the
  rp_* volumes). They are therefore listed as skipped, with the reason, never used silently.
"""
from __future__ import annotations

import functools
from pathlib import Path

from ..study import Study, StudyRef
from . import checks, nifti
from .base import Listing, find_nifti, nifti_files, require_dir, strip_nifti_suffix, log
from .errors import DatasetError, LayoutError, MissingFileError, PathLike
from .loading import check_pair_headers, load_hu, load_labels

NAME = "medseg"
IMAGES, LESIONS, LUNGS = "rp_im", "rp_msk", "rp_lung_msk"
LESION_LABELS = (1, 2)
SLICE_SET_FILES = ("tr_im", "tr_mask", "val_im", "tr_lungmasks_updated")
LAYOUT = f"{IMAGES}/N.nii.gz, {LESIONS}/N.nii.gz, {LUNGS}/N.nii.gz (N = 1..9)"


class SliceSetNotAVolume(DatasetError):
    """MedSeg set 1: independent slices of different patients, unusable as a study."""


def _load(image: Path, lesions: Path, lungs: Path, cid: str) -> Study:
    hu, spacing = load_hu(image)
    labels = load_labels(lesions, hu.shape, image)
    lung = load_labels(lungs, hu.shape, image) > 0
    checks.check_lungs_aerated(hu, lung, lungs)
    lesion = (labels == LESION_LABELS[0]) | (labels == LESION_LABELS[1])
    return Study(id=cid, source=NAME, hu=hu, spacing=spacing, covid=1, kind="covid",
                 lesion_mask=lesion, lung_mask=lung)


def open_medseg(path: PathLike, strict: bool = False) -> Listing:
    root = require_dir(Path(path), "MedSeg folder", LAYOUT)
    listing = Listing(NAME)
    for stray in nifti_files(root):
        if (strip_nifti_suffix(stray.name) or "") in SLICE_SET_FILES:
            listing.skip(stray.name, SliceSetNotAVolume(stray, "MedSeg set 1 holds independent slices of ~40 patients, "
                                                               "not a volume; not used (see DATASETS.md)"), strict=False)
    if not (root / IMAGES).is_dir():
        if listing.skipped:
            log.warning("%s: only the slice set was found in %s; no volumes to list", NAME, root)
            return listing
        raise LayoutError(root / IMAGES, f"image folder not found; expected layout: {LAYOUT}")
    for image in nifti_files(root / IMAGES):
        number = strip_nifti_suffix(image.name) or image.name
        cid = f"rp_{number}"
        lesions = find_nifti(root / LESIONS, number) if (root / LESIONS).is_dir() else None
        lungs = find_nifti(root / LUNGS, number) if (root / LUNGS).is_dir() else None
        try:
            if lesions is None:
                raise MissingFileError(root / LESIONS / image.name, f"no lesion mask for {image.name}")
            if lungs is None:
                raise MissingFileError(root / LUNGS / image.name, f"no lung mask for {image.name}")
            info = nifti.inspect(image)
            check_pair_headers(info, nifti.inspect(lesions))
            check_pair_headers(info, nifti.inspect(lungs))
        except DatasetError as exc:
            listing.skip(cid, exc, strict)
            continue
        listing.append(StudyRef(id=cid, source=NAME, covid=1, kind="covid", has_lesion_mask=True, has_lung_mask=True,
                                load=functools.partial(_load, image, lesions, lungs, cid)))
    log.info(listing.summary())
    return listing
