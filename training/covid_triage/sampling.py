"""The data side of the training recipe (notes §5): which studies, in which proportions,
cropped and batched how. Pure numpy/torch tensors; the optimisation lives in train.py.

Sampling: negative 0.25, positive without a lesion mask 0.25, positive with a mask 0.5.
Crops: in-plane centre crop of the lung box to at most 128 x 160; along z every k-th slice,
k = floor(n / 32) with a random offset; zero padding within the batch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .prepare import Prepared, bbox3d, prepare
from .pyramid_pool import MIN_AXIS
from .study import StudyRef

SAMPLING = {"neg": 0.25, "pos_nomask": 0.25, "pos_mask": 0.5}  # notes §5


def seed_range(text: str) -> range:
    """"40" -> range(0, 40); "1000:1008" -> range(1000, 1008)."""
    a, _, b = text.partition(":")
    return range(int(a), int(b)) if b else range(int(a))


def load_refs(specs: Sequence[str], log=print, workers: int = 1) -> List[StudyRef]:
    refs: List[StudyRef] = []
    for spec in specs:
        name, _, path = spec.partition("=")
        if name == "synthetic":
            from .synthetic import demo_set
            got = demo_set(path, log=log)
        elif name == "phantoms":
            from .synthetic import make_set
            seeds = seed_range(path)
            got = make_set(f"phantoms-{seeds.start}-{seeds.stop}", seeds, host=False, unmasked_every=3,
                           workers=workers, log=log)
        else:
            from .datasets import open_dataset  # written separately; imported only when needed
            got = open_dataset(name, path)
        log(f"data {name}: {len(got)} studies")
        refs.extend(got)
    return refs


def group_of(covid: Optional[int], has_lesion_mask: bool) -> Optional[str]:
    """Sampling group of the recipe; None = not usable for the multitask net."""
    if covid == 0:
        return "neg"
    if covid == 1:
        return "pos_mask" if has_lesion_mask else "pos_nomask"
    return None


def group_probabilities(groups: Dict[str, list]) -> Dict[str, float]:
    """The recipe's 0.25 / 0.25 / 0.5, renormalised over the groups that have studies."""
    live = {g: p for g, p in SAMPLING.items() if groups.get(g)}
    if not live:
        raise ValueError("no labelled studies to train on")
    total = sum(live.values())
    return {g: p / total for g, p in live.items()}


def draw_groups(rng: np.random.Generator, probs: Dict[str, float], n: int) -> List[str]:
    names = list(probs)
    return [names[i] for i in rng.choice(len(names), size=n, p=[probs[g] for g in names])]


def split_validation(refs: Sequence[StudyRef], n_val: int, seed: int) -> Tuple[list, list]:
    """Stratified validation set, from the studies without lesion masks when there are enough
    of both classes (notes §5), else from all labelled studies. -> (train, val)."""
    rng = np.random.default_rng(seed + 1)
    labelled = [r for r in refs if r.covid is not None]
    pool = [r for r in labelled if not r.has_lesion_mask]
    if sum(r.covid == 1 for r in pool) < 2 or sum(r.covid == 0 for r in pool) < 2 or len(pool) < 2 * n_val:
        pool = labelled
    pos = [r for r in pool if r.covid == 1]
    neg = [r for r in pool if r.covid == 0]
    n_pos = max(1, round(n_val * len(pos) / max(1, len(pos) + len(neg))))
    pick = set()
    for group, n in ((pos, n_pos), (neg, n_val - n_pos)):
        for i in rng.permutation(len(group))[:n]:
            pick.add(group[i].id)
    return [r for r in refs if r.id not in pick], [r for r in refs if r.id in pick]


@dataclass
class Item:
    """A prepared study kept in memory for training: the lung-box crop for the multitask net
    and (if it has a lung mask) the full slices for the lung net."""
    id: str
    covid: Optional[int]
    kind: str
    box_x: Optional[np.ndarray] = None       # float16 (h, w, d) windowed, lung box
    box_lesion: Optional[np.ndarray] = None  # bool or None
    full: Optional[Prepared] = None          # kept for lung training / lung prediction


def make_item(ref: StudyRef, keep_full: bool) -> Item:
    study = ref.load()
    p = prepare(study)
    item = Item(ref.id, ref.covid, ref.kind)
    if p.lung is not None and p.lung.any():
        set_box(item, p)
    if keep_full or p.lung is None:
        item.full = p
    return item


def set_box(item: Item, p: Prepared, lung: Optional[np.ndarray] = None) -> None:
    box = bbox3d(p.lung if lung is None else lung)
    item.box_x = p.x[box]
    item.box_lesion = None if p.lesion is None else p.lesion[box]


# ---------------------------------------------------------------- multitask batches

def z_indices(n: int, rng: np.random.Generator, z_target: int = 32) -> np.ndarray:
    """Every k-th slice, k = floor(n / z_target) (at least 1), random offset in [0, k):
    32-63 slices for n >= 32 with the paper's z_target."""
    k = max(1, n // z_target)
    return np.arange(int(rng.integers(0, k)), n, k)


def centre_crop(h: int, w: int, crop: Tuple[int, int]) -> Tuple[slice, slice]:
    ch, cw = min(h, crop[0]), min(w, crop[1])
    r0, c0 = (h - ch) // 2, (w - cw) // 2
    return slice(r0, r0 + ch), slice(c0, c0 + cw)


def training_crop(item: Item, rng, crop, z_target, random_z=True):
    x = item.box_x
    rs, cs = centre_crop(x.shape[0], x.shape[1], crop)
    zs = z_indices(x.shape[2], rng, z_target) if random_z else np.arange(0, x.shape[2], max(1, x.shape[2] // z_target))
    xc = np.asarray(x[rs, cs][:, :, zs], np.float32)
    les = None if item.box_lesion is None else np.asarray(item.box_lesion[rs, cs][:, :, zs], np.float32)
    return xc, les


def pad_batch(arrays: Sequence[Optional[np.ndarray]], min_size: int = MIN_AXIS) -> Tuple[torch.Tensor, list]:
    """Zero-pad (rows, cols, slices) arrays to the largest shape in the batch (every axis at
    least `min_size` for the pyramid). None stays None. -> (tensor B,H,W,D, per-item shapes)."""
    shapes = [a.shape for a in arrays if a is not None]
    target = [max(max(s[i] for s in shapes), min_size) for i in range(3)]
    out = torch.zeros(len(arrays), *target)
    for i, a in enumerate(arrays):
        if a is not None:
            out[i, :a.shape[0], :a.shape[1], :a.shape[2]] = torch.from_numpy(a)
    return out, shapes



def build_items(refs: Sequence[StudyRef], keep_full: bool, log=print) -> List[Item]:
    items = []
    for i, r in enumerate(refs):
        try:
            it = make_item(r, keep_full)
        except Exception as e:  # a loader's DatasetError (unreadable, misaligned...): skip and say so
            log(f"  skipped {r.id}: {type(e).__name__}: {e}")
            continue
        if r.covid == 1 and not r.has_lesion_mask:
            it.box_lesion = None
        items.append(it)
        if (i + 1) % 50 == 0:
            log(f"  prepared {i + 1}/{len(refs)}")
    if refs and not items:
        raise ValueError("no study could be loaded")
    return items


