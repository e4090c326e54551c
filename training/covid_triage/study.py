"""The record every data source yields and the trainer consumes.

Array layout as everywhere in this package (notes §3): (rows, cols, slices); rows run
anterior->posterior, cols run patient right->left, slices run head->feet. HU as float32.
Loaders return `StudyRef`s (cheap, listable) and load the pixels only on `.load()`,
because real datasets are tens of GB.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import numpy as np


@dataclass
class Study:
    id: str
    source: str                           # dataset name, e.g. "mosmed", "medseg", "phantom"
    hu: np.ndarray                        # float32 (rows, cols, slices), native spacing
    spacing: Tuple[float, float, float]   # mm between rows, cols, slices
    covid: Optional[int]                  # 1 COVID-19 positive, 0 negative, None unknown
    kind: str                             # "covid", "normal", "bacterial", "nodules", "cancer", ...
    lesion_mask: Optional[np.ndarray] = None   # bool, same shape as hu; None = not annotated
    lung_mask: Optional[np.ndarray] = None     # bool (or uint8 labels: 1 right, 2 left)
    # Set when the source stored a 0-255 display window instead of HU (the radiopaedia cases of
    # COVID-19-CT-Seg): `hu` was rebuilt as lo + v * (hi - lo) / 255, so it saturates at lo and hi.
    # v = (hu - lo) * 255 / (hi - lo) recovers the stored values exactly (notes §3, the /255 branch).
    hu_window: Optional[Tuple[float, float]] = None


@dataclass
class StudyRef:
    id: str
    source: str
    covid: Optional[int]
    kind: str
    has_lesion_mask: bool
    has_lung_mask: bool
    load: Callable[[], Study]
