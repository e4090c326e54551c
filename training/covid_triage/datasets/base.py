"""What every loader shares: the listing result, skip bookkeeping, file-name helpers."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional

from ..study import StudyRef
from .errors import DatasetError, LayoutError

log = logging.getLogger("covid_triage.datasets")

NIFTI_SUFFIXES = (".nii.gz", ".nii")


@dataclass(frozen=True)
class SkippedCase:
    case: str       # case id, or the file name when there is no id yet
    reason: str     # the error message (names the file and the problem)
    error: str      # the error class, e.g. "MissingFileError"


class Listing(List[StudyRef]):
    """A plain list of StudyRef (what open_dataset returns), plus what was left out and why."""

    def __init__(self, source: str, refs: Iterable[StudyRef] = (), skipped: Iterable[SkippedCase] = ()):
        super().__init__(refs)
        self.source = source
        self.skipped: List[SkippedCase] = list(skipped)

    def skip(self, case: str, error: DatasetError, strict: bool) -> None:
        """Record a case that cannot be used; with strict=True raise instead."""
        if strict:
            raise error
        self.skipped.append(SkippedCase(case, str(error), type(error).__name__))
        log.warning("%s: skipping %s: %s", self.source, case, error)

    def summary(self) -> str:
        pos = sum(1 for r in self if r.covid == 1)
        neg = sum(1 for r in self if r.covid == 0)
        lesion = sum(1 for r in self if r.has_lesion_mask)
        lung = sum(1 for r in self if r.has_lung_mask)
        return (f"{self.source}: {len(self)} studies ({pos} COVID-19 positive, {neg} negative; {lesion} with lesion "
                f"masks, {lung} with lung masks); {len(self.skipped)} skipped")


def strip_nifti_suffix(name: str) -> Optional[str]:
    for suffix in NIFTI_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def nifti_files(folder: Path) -> List[Path]:
    """NIfTI files directly in `folder`, sorted by name (hidden files ignored)."""
    return sorted(p for p in folder.iterdir()
                  if p.is_file() and not p.name.startswith(".") and strip_nifti_suffix(p.name) is not None)


def find_nifti(folder: Path, stem: str) -> Optional[Path]:
    for suffix in NIFTI_SUFFIXES:
        candidate = folder / f"{stem}{suffix}"
        if candidate.is_file():
            return candidate
    return None


def require_dir(path: Path, what: str, expected: str) -> Path:
    if not path.is_dir():
        raise LayoutError(path, f"{what} not found; expected layout: {expected}")
    return path
