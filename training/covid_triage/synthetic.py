"""Synthetic training data for the demonstration model (not the paper's data).

Two sources, both with exact lung labels (1 right, 2 left), exact lesion masks and exact
severity (max over the two lungs of the lesion fraction):

* procedural phantoms (phantom.py) at realistic geometry: generated at 1.5-2.2 mm in-plane,
  1.5-5 mm slices, 40-150 slices, random anatomy scale, position and noise, then resampled
  to 2 mm in-plane exactly as the service does (prepare.py). Numpy only.
* lesion insertion into the real NORMAL series normal001 (the "texture host"): a classical
  lung mask, then COVID-like bilateral peripheral ground glass with consolidated cores,
  bacterial-like lobar consolidation of one lower lung, or nodules; soft edges, texture,
  vessels kept. Variants differ in z range, slice step, in-plane crop and lesions. The
  orientation is never flipped: the classification bins are position-specific.
  Needs pydicom (first read only) and scipy, imported lazily.

P001 and cap001 are never used here: they are evaluation cases.
Everything is cached under .cache/synthetic as .npz at 2 mm in-plane (HU int16).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

import numpy as np

from .phantom import KINDS, make_phantom, severity_from_masks
from .prepare import resample_inplane
from .study import Study, StudyRef

CACHE_ROOT = Path(__file__).resolve().parents[2] / ".cache" / "synthetic"
HOST_CASE = "normal001"


# ---------------------------------------------------------------- procedural phantoms

def phantom_study(kind: str, seed: int) -> Tuple[Study, float]:
    """One phantom at realistic geometry, already at 2 mm in-plane. -> (Study, severity)."""
    rng = np.random.default_rng([seed, 7, KINDS.index(kind)])
    sp = float(rng.uniform(1.5, 2.2))          # sampling spacing in-plane
    sz = float(rng.uniform(1.5, 5.0))          # slice spacing
    scale = float(rng.uniform(0.88, 1.12))     # anatomy scale: declared spacing = sp * scale
    zlen = float(rng.uniform(230.0, 300.0))
    n_slices = int(np.clip(round(zlen / sz), 40, 150))
    fov = float(rng.uniform(340.0, 400.0))
    n_inplane = int(round(fov / sp))
    ph = make_phantom(kind, seed=seed, shape=(n_inplane, n_inplane, n_slices), spacing=(sp, sp, sz),
                      noise_hu=float(rng.uniform(10.0, 45.0)))
    hu, labels, lesion = ph.hu, ph.lung_labels, ph.lesion_mask
    # position jitter: shift in-plane by up to ~12 mm (edges are air; wrap-around is air too)
    shift = rng.integers(-int(12 / sp), int(12 / sp) + 1, size=2)
    hu, labels, lesion = (np.roll(a, tuple(shift), axis=(0, 1)) for a in (hu, labels, lesion))
    spacing = (sp * scale, sp * scale, sz * scale)
    hu2 = resample_inplane(hu, spacing[:2], fill=-1024.0)
    lab2 = resample_inplane(labels, spacing[:2], nearest=True)
    les2 = resample_inplane(lesion.astype(np.uint8), spacing[:2], nearest=True) > 0
    les2 &= lab2 > 0
    severity, _ = severity_from_masks(lab2, les2)
    study = Study(id=f"phantom-{kind}-{seed}", source="phantom", hu=hu2.astype(np.float32),
                  spacing=(2.0, 2.0, spacing[2]), covid=int(kind == "covid"), kind=kind,
                  lesion_mask=les2, lung_mask=lab2)
    return study, severity


# ---------------------------------------------------------------- the real normal host

def classical_lung_mask(hu: np.ndarray, spacing: Tuple[float, float, float]) -> np.ndarray:
    """Lung labels (1 right, 2 left) of a normal CT: HU < -400 inside the body, components
    touching the border dropped, the two largest kept, trachea removed, small closing."""
    from scipy import ndimage as nd

    body = nd.binary_fill_holes(hu > -500, structure=np.ones((3, 3, 1), bool))
    cand = (hu < -400) & body
    lab, n = nd.label(cand)
    if n == 0:
        raise ValueError("no lung candidates")
    border = np.unique(np.concatenate([lab[0].ravel(), lab[-1].ravel(), lab[:, 0].ravel(), lab[:, -1].ravel()]))
    sizes = nd.sum(np.ones_like(lab), lab, index=np.arange(1, n + 1))
    sizes[border[border > 0] - 1] = 0
    order = np.argsort(sizes)[::-1]
    keep = [i + 1 for i in order[:2] if sizes[i] > 0.05 * sizes[order[0]]]
    lungs = np.isin(lab, keep)
    # trachea / main bronchi: small air components near the midline, slice by slice
    mid = np.flatnonzero(body.any(axis=(0, 2)))
    mid_col = (mid[0] + mid[-1]) / 2.0
    px_area = spacing[0] * spacing[1]
    for k in range(lungs.shape[2]):
        l2, m = nd.label(lungs[:, :, k])
        for j in range(1, m + 1):
            comp = l2 == j
            cols = np.nonzero(comp)[1]
            if comp.sum() * px_area < 600 and abs(cols.mean() - mid_col) * spacing[1] < 25:
                lungs[:, :, k][comp] = False
    lungs = nd.binary_closing(lungs, structure=np.ones((3, 3, 3), bool), iterations=1)
    # fill only small in-plane holes (vessels); a large one is the diaphragm dome, not lung
    for k in range(lungs.shape[2]):
        holes, m = nd.label(nd.binary_fill_holes(lungs[:, :, k]) & ~lungs[:, :, k])
        if m:
            areas = nd.sum(np.ones_like(holes), holes, index=np.arange(1, m + 1)) * px_area
            small = np.flatnonzero(areas < 150) + 1
            lungs[:, :, k] |= np.isin(holes, small)
    # right/left: the patient's right lung has the lower col indices
    lab, n = nd.label(lungs)
    labels = np.zeros(hu.shape, np.uint8)
    if n >= 2:
        sizes = nd.sum(np.ones_like(lab), lab, index=np.arange(1, n + 1))
        two = np.argsort(sizes)[::-1][:2] + 1
        means = [np.nonzero(lab == t)[1].mean() for t in two]
        for t, m in zip(two, means):
            labels[lab == t] = 1 if m == min(means) else 2
    else:  # one merged component: split at the body midline
        cols = np.arange(hu.shape[1])[None, :, None]
        labels[lungs & (cols < mid_col)] = 1
        labels[lungs & (cols >= mid_col)] = 2
    return labels


def host_volume(cache_root: Path = CACHE_ROOT):
    """normal001 at 2 mm in-plane with its classical lung labels, cached."""
    cache = Path(cache_root) / "host-normal001-2mm.npz"
    if cache.exists():
        z = np.load(cache)
        return z["hu"].astype(np.float32), z["labels"], tuple(float(v) for v in z["spacing"])
    from . import ctmd

    hu, sp = ctmd.load_case(HOST_CASE)
    hu2 = resample_inplane(hu, sp[:2])
    spacing = (2.0, 2.0, sp[2])
    labels = classical_lung_mask(hu2, spacing)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, hu=hu2.astype(np.int16), labels=labels, spacing=np.array(spacing))
    return hu2.astype(np.float32), labels, spacing


def _smooth_noise(shape, rng, sigma: float) -> np.ndarray:
    from scipy import ndimage as nd

    f = nd.gaussian_filter(rng.normal(size=shape).astype(np.float32), sigma)
    return f / (f.std() + 1e-6)


def _soft_ellipsoid(shape, centre, radii, spacing, rng, roughness=0.25):
    """Weight in [0, 1] of a lumpy ellipsoid (1 inside, smooth ~3 mm edge), computed on a
    sub-box only. -> (box slices, weights)."""
    lo = [max(0, int((c - 1.6 * r / s))) for c, r, s in zip(centre, radii, spacing)]
    hi = [min(n, int((c + 1.6 * r / s)) + 2) for c, r, s, n in zip(centre, radii, spacing, shape)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    g = np.meshgrid(*[(np.arange(a, b) - c) * s / r for a, b, c, s, r in zip(lo, hi, centre, spacing, radii)],
                    indexing="ij")
    d = np.sqrt(sum(x * x for x in g))
    sub_shape = tuple(b - a for a, b in zip(lo, hi))
    d = d + roughness * _smooth_noise(sub_shape, rng, 2.0)
    edge = 3.0 / float(np.mean(radii))  # ~3 mm soft edge
    w = np.clip((1.0 - d) / edge + 0.5, 0.0, 1.0)
    return box, w * w * (3 - 2 * w)


def _blend(hu, box, w, target, texture, keep_denser=True):
    """hu <- hu + w * (target + texture - hu), only where the voxel is less dense than the
    target (vessels and walls keep their HU)."""
    sub = hu[box]
    tgt = target + texture[box] if texture is not None else target
    upd = sub + w * (tgt - sub)
    hu[box] = np.where(sub < tgt, upd, sub) if keep_denser else upd


def insert_lesions(hu: np.ndarray, labels: np.ndarray, spacing, kind: str, rng: np.random.Generator,
                   target_severity: Optional[float] = None):
    """Insert synthetic lesions of `kind` into a copy of a normal CT. -> (hu, lesion mask)."""
    from scipy import ndimage as nd

    hu = hu.copy()
    lesion = np.zeros(hu.shape, bool)
    lungs = labels > 0
    if kind == "normal":
        return hu, lesion
    texture = 45.0 * _smooth_noise(hu.shape, rng, 1.5)
    if kind == "covid":
        # peripheral: lung voxels 2-12 mm from the pleura, more often posterior and lower
        dist = nd.distance_transform_edt(lungs, sampling=spacing)
        target = target_severity if target_severity is not None else float(rng.uniform(0.02, 0.5))
        vol = {lab: max(1, int((labels == lab).sum())) for lab in (1, 2)}
        ggo = float(rng.uniform(-620.0, -320.0))
        for i in range(14):
            lab = 1 + (i % 2)  # bilateral: alternate the lungs
            cand = np.argwhere((labels == lab) & (dist > 2) & (dist < 12))
            if len(cand) == 0:
                continue
            wts = 1.0 + cand[:, 0] / hu.shape[0] + cand[:, 2] / hu.shape[2]
            c = cand[rng.choice(len(cand), p=wts / wts.sum())]
            radii = rng.uniform(12.0, 40.0, size=3)
            box, w = _soft_ellipsoid(hu.shape, c, radii, spacing, rng)
            inside = (labels[box] == lab)
            w = w * inside
            _blend(hu, box, w, ggo, texture)
            if radii.min() > 20.0 and rng.random() < 0.6:  # consolidated core
                box2, w2 = _soft_ellipsoid(hu.shape, c, radii * 0.45, spacing, rng)
                _blend(hu, box2, w2 * (labels[box2] == lab), float(rng.uniform(-50, 40)), texture)
            lesion[box] |= (w > 0.5) & inside
            frac = max(np.logical_and(lesion, labels == k).sum() / vol[k] for k in (1, 2))
            if i >= 1 and frac >= target:
                break
    elif kind == "bacterial":
        lab = int(rng.integers(1, 3))
        lung = labels == lab
        idx = np.argwhere(lung)
        # lower (high slice index) and posterior (high row index) part of one lung
        score = idx[:, 2] / hu.shape[2] + 0.4 * idx[:, 0] / hu.shape[0]
        frac = float(rng.uniform(0.15, 0.5))
        cut = np.quantile(score, 1.0 - frac)
        field = np.full(hu.shape, -1.0, np.float32)
        field[tuple(idx.T)] = score - cut
        field += 0.03 * _smooth_noise(hu.shape, rng, 3.0)
        w = np.clip(field / 0.03 + 0.5, 0, 1) * lung
        box = tuple(slice(None) for _ in range(3))
        _blend(hu, box, w, float(rng.uniform(-20.0, 50.0)), texture)
        lesion |= (w > 0.5) & lung
    elif kind == "nodules":
        for _ in range(int(rng.integers(1, 5))):
            idx = np.argwhere(lungs)
            c = idx[rng.integers(len(idx))]
            r = float(rng.uniform(3.0, 12.0))
            box, w = _soft_ellipsoid(hu.shape, c, (r, r, r), spacing, rng, roughness=0.05)
            inside = lungs[box]
            _blend(hu, box, w * inside, float(rng.uniform(10.0, 60.0)), texture * 0.5)
            lesion[box] |= (w > 0.5) & inside
    else:
        raise ValueError(f"unknown kind {kind}")
    return hu, lesion & lungs


def host_study(kind: str, seed: int, cache_root: Path = CACHE_ROOT) -> Tuple[Study, float]:
    """One lesion-insertion variant of normal001: random z range, slice step, in-plane crop."""
    hu, labels, spacing = host_volume(cache_root)
    rng = np.random.default_rng([seed, 11, KINDS.index(kind)])
    step = int(rng.choice([1, 1, 2]))
    n = hu.shape[2]
    z0 = int(rng.integers(0, n // 10 + 1))
    z1 = n - int(rng.integers(0, n // 10 + 1))
    r0, r1, c0, c1 = (int(v) for v in rng.integers(0, 12, size=4))
    sl = (slice(r0, hu.shape[0] - r1), slice(c0, hu.shape[1] - c1), slice(z0, z1, step))
    hu, labels = hu[sl], labels[sl]
    sp = (spacing[0], spacing[1], spacing[2] * step)
    hu, lesion = insert_lesions(hu, labels, sp, kind, rng)
    hu += rng.normal(0.0, float(rng.uniform(0.0, 15.0)), size=hu.shape).astype(np.float32)
    severity, _ = severity_from_masks(labels, lesion)
    study = Study(id=f"host-{kind}-{seed}", source="normal001-insertion", hu=hu.astype(np.float32),
                  spacing=sp, covid=int(kind == "covid"), kind=kind, lesion_mask=lesion, lung_mask=labels)
    return study, severity


# ---------------------------------------------------------------- cached sets of StudyRefs

def _save(path: Path, study: Study, severity: float) -> None:
    np.savez(path, hu=np.round(study.hu).astype(np.int16), labels=study.lung_mask.astype(np.uint8),
             lesion=study.lesion_mask, spacing=np.array(study.spacing), severity=severity,
             kind=study.kind, source=study.source)


def _ref(path: Path, covid: int, kind: str, masked: bool, source: str) -> StudyRef:
    def load() -> Study:
        z = np.load(path)
        return Study(id=f"{path.parent.name}/{path.stem}", source=source, hu=z["hu"].astype(np.float32),
                     spacing=tuple(float(v) for v in z["spacing"]), covid=covid, kind=kind,
                     lesion_mask=z["lesion"] if masked else None, lung_mask=z["labels"])
    return StudyRef(id=f"{path.parent.name}/{path.stem}", source=source, covid=covid, kind=kind, has_lesion_mask=masked,
                    has_lung_mask=True, load=load)


def severity_of(ref: StudyRef) -> float:
    """Exact severity stored with a cached synthetic study."""
    return float(np.load(ref_path(ref))["severity"])


_PATHS: Dict[str, Path] = {}


def ref_path(ref: StudyRef) -> Path:
    return _PATHS[ref.id]


def _generate(job) -> str:
    path, src, kind, seed = job
    study, sev = (phantom_study if src == "phantom" else host_study)(kind, seed)
    _save(path, study, sev)
    return f"  generated {Path(path).name} shape={study.hu.shape} severity={sev:.3f}"


def make_set(name: str, seeds: Iterable[int], *, phantoms: bool = True, host: bool = True,
             kinds=KINDS, unmasked_every: int = 0, cache_root: Path = CACHE_ROOT,
             workers: int = 1, log=print) -> List[StudyRef]:
    """Generate (or reuse) a cached set; one phantom and/or one host variant per kind and seed.
    `unmasked_every=k` hides the lesion mask of every k-th COVID study, so the recipe's
    "positive without mask" group exists (0 = all masked). `workers` > 1 generates in parallel."""
    out_dir = Path(cache_root) / name
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(out_dir / f"{src}-{kind}-{seed}.npz", src, kind, seed)
            for seed in seeds for kind in kinds for src in ("phantom", "host")
            if (src == "phantom" and phantoms) or (src == "host" and host)]
    missing = [j for j in jobs if not j[0].exists()]
    if workers > 1 and len(missing) > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(workers) as pool:
            for msg in pool.map(_generate, missing):
                log(msg)
    else:
        for j in missing:
            log(_generate(j))
    refs: List[StudyRef] = []
    n_covid = 0
    for path, src, kind, _seed in jobs:
        masked = True
        if kind == "covid":
            n_covid += 1
            masked = not (unmasked_every and n_covid % unmasked_every == 0)
        ref = _ref(path, int(kind == "covid"), kind, masked, "phantom" if src == "phantom" else "normal001-insertion")
        _PATHS[ref.id] = path
        refs.append(ref)
    return refs


# Seeds of the demo sets (phantom seeds, host seeds): training, validation (checkpoint choice)
# and evaluation never overlap. 4 studies (one per kind) per seed and source.
DEMO_SETS = {"demo-train": (range(0, 16), range(0, 24)), "demo-val": (range(1000, 1003), range(1000, 1003)),
             "demo-eval": (range(2000, 2005), range(2000, 2010))}


def demo_set(name: str, *, phantoms: bool = True, host: bool = True, workers: int = 1, log=print) -> List[StudyRef]:
    # a third of the training COVID studies act as "positive without mask" (recipe's group 2)
    ph_seeds, host_seeds = DEMO_SETS[name]
    unmasked = 3 if name == "demo-train" else 0
    refs = make_set(name, ph_seeds, host=False, unmasked_every=unmasked, workers=workers, log=log) if phantoms else []
    if host:
        refs += make_set(name, host_seeds, phantoms=False, unmasked_every=unmasked, workers=workers, log=log)
    return refs


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="generate the cached synthetic demo sets")
    ap.add_argument("--set", choices=sorted(DEMO_SETS), action="append", required=True)
    ap.add_argument("--no-phantoms", action="store_true")
    ap.add_argument("--no-host", action="store_true")
    a = ap.parse_args()
    for name in a.set:
        refs = demo_set(name, phantoms=not a.no_phantoms, host=not a.no_host)
        print(f"{name}: {len(refs)} studies in {CACHE_ROOT / name}")


if __name__ == "__main__":
    main()
