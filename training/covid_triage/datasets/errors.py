"""Typed errors of the dataset loaders. Every message names the file (or folder) and the problem.

The trainer catches `DatasetError` around `StudyRef.load()` to skip and count a bad case;
listing collects the same errors per case in `Listing.skipped` (or raises them with strict=True).
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

PathLike = Union[str, Path]


class DatasetError(Exception):
    """Base class: something about one file or one case makes it unusable."""

    def __init__(self, path: PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class LayoutError(DatasetError):
    """The dataset folder does not have the published layout."""


class MissingFileError(DatasetError):
    """An expected file (image or mask) is absent."""


class UnreadableFileError(DatasetError):
    """The file exists but cannot be parsed as NIfTI / DICOM, or has an unusable shape."""


class MaskShapeError(DatasetError):
    """Image and mask do not have the same shape after reorientation."""


class OrientationError(DatasetError):
    """Non-axial or oblique geometry, missing or contradictory orientation in the header."""


class GeometryError(DatasetError):
    """DICOM series geometry cannot be stacked: duplicate or uneven slices, tilt, mixed sizes."""


class IntensityError(DatasetError):
    """Pixel values are not plausible HU (e.g. raw stored values, or a window we cannot invert)."""


class MaskAlignmentError(DatasetError):
    """The mask contradicts the image: lungs not aerated, left/right labels on the wrong side."""


class AnatomyCheckError(DatasetError):
    """The reoriented image contradicts basic chest anatomy (e.g. spine in front)."""
