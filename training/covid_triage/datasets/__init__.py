"""Loaders for the public datasets the paper trains on, in their published formats.

    refs = open_dataset("mosmed", "/data/COVID19_1110")     # fast: headers only
    study = refs[0].load()                                   # pixels, reoriented, checked

Every loader returns a `Listing` (a list of StudyRef; `.skipped` says what was left out and
why) and yields `Study` records in the package layout: (rows, cols, slices), rows
anterior->posterior, cols patient right->left, slices head->feet, HU float32, spacing in mm.
`.load()` raises a `DatasetError` subclass naming the file and the problem; catch it to skip
and count a case. Layouts, labels and sources: training/DATASETS.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Union

from .base import Listing, SkippedCase
from .covid_ct_seg import open_covid_ct_seg
from .errors import (AnatomyCheckError, DatasetError, GeometryError, IntensityError, LayoutError, MaskAlignmentError,
                     MaskShapeError, MissingFileError, OrientationError, UnreadableFileError)
from .medseg import open_medseg
from .mosmed import open_mosmed
from .nsclc import open_dicom_negatives, open_nsclc

Opener = Callable[..., Listing]

DATASETS: Dict[str, Opener] = {
    "mosmed": open_mosmed,
    "covid_ct_seg": open_covid_ct_seg,
    "medseg": open_medseg,
    "nsclc": open_nsclc,
    "dicom_negatives": open_dicom_negatives,
}


def open_dataset(name: str, path: Union[str, Path], strict: bool = False) -> Listing:
    """List one dataset. `strict=True` raises on the first unusable case instead of skipping it."""
    if name not in DATASETS:
        raise KeyError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name](path, strict=strict)


__all__ = [
    "DATASETS", "open_dataset", "Listing", "SkippedCase", "DatasetError", "LayoutError", "MissingFileError",
    "UnreadableFileError", "MaskShapeError", "OrientationError", "GeometryError", "IntensityError",
    "MaskAlignmentError", "AnatomyCheckError",
]
