"""Reference inference pipeline (numpy + onnxruntime) for the parity test and the benchmark.

It mirrors libs/inference/src/triage-pipeline.ts step for step (paper-method.md §3-§4) but is
written independently from the CtVolume convention up: hu[k, j, i] with geometry (origin,
directions of i, j, k, spacing of i, j, k), as @app/dicom builds it.

  1. preprocess   model layout (rows A->P, cols R->L, slices head->feet), in-plane resampling
                  to 2 mm with pixel centres aligned (fill: volume minimum), HU window
  2. lungs.onnx   on every full slice in batches -> P(lung)
  3. lung box     tight 3D box of P(lung) > 0.5; empty -> NO_LUNGS_FOUND; an axis < 8 -> error
  4. backbone     backbone_seg.onnx on the cropped slices in batches; fm is reduced per slice to
                  the pyramid bins' 2D maxima at once (never stacked), P(lesion) kept for the box
  5. cls_mlp.onnx on the 4680 pooled features -> P(COVID-19)
  6. postprocess  probabilities back to the source grid inside the box (bilinear; lesion zero
                  padded outside the box), thresholds, lesion within lungs, k-means (k=2,
                  mulberry32 seed 42, every 30th lung voxel in mm) left/right split, volumes

Floating-point arithmetic follows the TypeScript order (float64 interpolation, float32
storage) so that the two agree to onnxruntime's own round-off. Demonstration only - not for
clinical use.

Usage (from training/):
  python -m covid_triage.infer --manifest ../models/covid-triage-demo/manifest.json \
      (--dicom DIR | --raw VOLUME.raw --geometry GEOMETRY.json) [--threads N] [--batch 16]
      [--masks-out DIR]
Prints one JSON line: the measurements, or {"error": {"code": ..., "message": ...}} (exit 3).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import resource
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

LEVELS = (1, 2, 4, 8)
MIN_AXIS = 8
CHANNELS = 8
SPLIT_SEED = 42
SPLIT_STRIDE = 30
AXIS_ALIGNMENT = 0.8
EDGE_EPSILON = 1e-6


class TriageFailure(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------- volumes (CtVolume convention)

def load_dicom(folder: Path) -> Tuple[np.ndarray, dict]:
    """The CT images of a folder as hu[k, j, i], k sorted along the slice normal (as @app/dicom)."""
    import pydicom

    datasets = []
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        try:
            datasets.append(pydicom.dcmread(path))
        except pydicom.errors.InvalidDicomError:
            continue
    hu, geometry, _ = volume_from_datasets(datasets, str(folder))
    return hu, geometry


def volume_from_datasets(datasets, where: str = "the datasets", decode=None):
    """hu[k, j, i] of the largest CT series among pydicom datasets, k sorted along the slice
    normal (as @app/dicom); `decode(ds)` gives the stored pixels (default ds.pixel_array).
    Returns hu, geometry and the series' datasets in k order."""
    datasets = [d for d in datasets
                if d.get("Modality") == "CT" and "PixelData" in d and "ImagePositionPatient" in d]
    if not datasets:
        raise ValueError(f"no CT images in {where}")
    series = max({d.SeriesInstanceUID for d in datasets}, key=lambda uid: sum(d.SeriesInstanceUID == uid for d in datasets))
    datasets = [d for d in datasets if d.SeriesInstanceUID == series]
    orientation = [float(v) for v in datasets[0].ImageOrientationPatient]
    row, col = np.array(orientation[:3]), np.array(orientation[3:])
    normal = np.cross(row, col)
    normal = normal / math.hypot(*normal)
    distance = lambda d: float(np.dot([float(v) for v in d.ImagePositionPatient], normal))  # noqa: E731
    datasets.sort(key=distance)
    steps = sorted(distance(b) - distance(a) for a, b in zip(datasets, datasets[1:]))
    slopes = [float(d.get("RescaleSlope", 1)) for d in datasets]
    intercepts = [float(d.get("RescaleIntercept", 0)) for d in datasets]
    integral = all(s.is_integer() and i.is_integer() for s, i in zip(slopes, intercepts))
    hu = np.empty((len(datasets), datasets[0].Rows, datasets[0].Columns), np.int16 if integral else np.float32)
    for k, d in enumerate(datasets):
        hu[k] = (decode(d) if decode else d.pixel_array) * slopes[k] + intercepts[k]
    row_spacing, col_spacing = (float(v) for v in datasets[0].PixelSpacing)
    geometry = {
        "origin": [float(v) for v in datasets[0].ImagePositionPatient],
        "directions": [row.tolist(), col.tolist(), normal.tolist()],
        "spacing": [col_spacing, row_spacing, steps[len(steps) // 2]],
    }
    return hu, geometry, datasets


def load_raw(path: Path, geometry_path: Path) -> Tuple[np.ndarray, dict]:
    """A volume written by the tests: raw little-endian hu[k, j, i] and a JSON geometry with
    columns, rows, slices, dtype ('int16' or 'float32'), origin, directions, spacing."""
    g = json.loads(Path(geometry_path).read_text())
    hu = np.fromfile(path, dtype="<" + {"int16": "i2", "float32": "f4"}[g["dtype"]])
    return hu.reshape(g["slices"], g["rows"], g["columns"]), g


# ---------------------------------------------------------------- step 1: preprocessing

def model_axes(directions) -> List[Tuple[int, bool]]:
    """For model slices (head->feet), rows (A->P), cols (R->L): (numpy axis of hu[k, j, i], flipped)."""
    numpy_axis_of_direction = (2, 1, 0)  # directions[0] runs along i (axis 2), [1] along j, [2] along k
    dominant = []
    for n, d in enumerate(directions):
        lps = int(np.argmax(np.abs(d)))
        if abs(d[lps]) < AXIS_ALIGNMENT:
            raise TriageFailure("INVALID_GEOMETRY", f"direction {n} {d} is oblique")
        dominant.append((lps, 1 if d[lps] > 0 else -1))
    if dominant[2][0] != 2:
        raise TriageFailure("INVALID_GEOMETRY", "not an axial series")
    out = []
    for lps, sign in ((2, -1), (1, 1), (0, 1)):  # slices: -z (feet), rows: +y (posterior), cols: +x (left)
        n = next(i for i, (a, _) in enumerate(dominant) if a == lps)
        out.append((numpy_axis_of_direction[n], dominant[n][1] != sign))
    return out


def to_model_layout(hu: np.ndarray, axes) -> np.ndarray:
    data = np.transpose(hu, [a for a, _ in axes])
    return np.flip(data, axis=[m for m, (_, f) in enumerate(axes) if f]) if any(f for _, f in axes) else data


def to_source_layout(model: np.ndarray, axes) -> np.ndarray:
    flipped = [m for m, (_, f) in enumerate(axes) if f]
    data = np.flip(model, axis=flipped) if flipped else model
    return np.ascontiguousarray(np.transpose(data, np.argsort([a for a, _ in axes])))


def plan_axis(length: int, spacing: float, target: float) -> dict:
    out_len = max(1, math.floor(length * spacing / target + 0.5))  # JS Math.round
    scale = target / spacing
    o = np.arange(out_len, dtype=np.float64)
    x = (o + 0.5) * scale - 0.5
    last = length - 1
    outside = (x < -EDGE_EPSILON) | (x > last + EDGE_EPSILON)
    xc = np.minimum(np.maximum(x, 0), last)
    lower = np.minimum(np.floor(xc), max(last - 1, 0)).astype(np.int64)
    frac = xc - lower
    return {"input": length, "output": out_len, "scale": scale, "lower": lower, "frac": frac, "outside": outside}


def resample_in_plane(data: np.ndarray, spacing_rc, target: float, fill: float, chunk: int = 16):
    """data[s, r, c] -> float32 [s, R, C] at `target` mm, bilinear with pixel centres aligned."""
    rows, cols = plan_axis(data.shape[1], spacing_rc[0], target), plan_axis(data.shape[2], spacing_rc[1], target)
    r0, c0 = rows["lower"], cols["lower"]
    r1, c1 = np.minimum(r0 + 1, data.shape[1] - 1), np.minimum(c0 + 1, data.shape[2] - 1)
    fr, fc = rows["frac"][:, None], cols["frac"][None, :]
    out = np.empty((data.shape[0], rows["output"], cols["output"]), np.float32)
    for s0 in range(0, data.shape[0], chunk):
        d = data[s0:s0 + chunk].astype(np.float64)
        top = d[:, r0][:, :, c0] * (1 - fc) + d[:, r0][:, :, c1] * fc
        bottom = d[:, r1][:, :, c0] * (1 - fc) + d[:, r1][:, :, c1] * fc
        v = top * (1 - fr) + bottom * fr
        v[:, rows["outside"], :] = fill
        v[:, :, cols["outside"]] = fill
        out[s0:s0 + chunk] = v
    return out, rows, cols


def apply_window(x: np.ndarray, w: dict) -> np.ndarray:
    gain = (w["outMax"] - w["outMin"]) / (w["huMax"] - w["huMin"])
    v = np.minimum(np.maximum(x.astype(np.float64), w["huMin"]), w["huMax"])
    return ((v - w["huMin"]) * gain + w["outMin"]).astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-x.astype(np.float64)))).astype(np.float32)


# ---------------------------------------------------------------- model set

class ModelSet:
    def __init__(self, manifest_path: Path, threads: int | None = None):
        import onnxruntime as ort

        self.path = Path(manifest_path).resolve()
        self.manifest = json.loads(self.path.read_text())
        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        self.sessions = {}
        for g in self.manifest["graphs"]:
            file = self.path.parent / g["file"]
            if hashlib.sha256(file.read_bytes()).hexdigest() != g["sha256"]:
                raise ValueError(f"{file}: SHA-256 does not match the manifest")
            self.sessions[g["name"]] = ort.InferenceSession(str(file), opts, providers=["CPUExecutionProvider"])

    def run(self, graph: str, name: str, x: np.ndarray) -> List[np.ndarray]:
        return self.sessions[graph].run(None, {name: np.ascontiguousarray(x, np.float32)})


# ---------------------------------------------------------------- steps 2-5

def lung_box(prob: np.ndarray, threshold: float) -> Dict[str, List[int]]:
    s, r, c = np.nonzero(prob.astype(np.float64) > threshold)
    if s.size == 0:
        raise TriageFailure("NO_LUNGS_FOUND", "no lungs found")
    box = {"rows": [int(r.min()), int(r.max()) + 1], "cols": [int(c.min()), int(c.max()) + 1],
           "slices": [int(s.min()), int(s.max()) + 1]}
    if min(b[1] - b[0] for b in box.values()) < MIN_AXIS:
        raise TriageFailure("NO_LUNGS_FOUND", f"lung box {box} shorter than {MIN_AXIS}")
    return box


def windows(length: int, bins: int) -> List[Tuple[int, int]]:
    stride = length // bins
    kernel = length - (bins - 1) * stride
    return [(i * stride, i * stride + kernel) for i in range(bins)]


def slice_bin_maxima(fm: np.ndarray) -> List[np.ndarray]:
    """fm[n, C, h, w] -> per level, the 2D bin maxima [n, C, l, l] of each slice."""
    _, _, h, w = fm.shape
    out = []
    for l in LEVELS:
        m = np.empty(fm.shape[:2] + (l, l), np.float32)
        for i, (h0, h1) in enumerate(windows(h, l)):
            for j, (w0, w1) in enumerate(windows(w, l)):
                m[:, :, i, j] = fm[:, :, h0:h1, w0:w1].max(axis=(2, 3))
        out.append(m)
    return out


def pool_slice_maxima(per_slice: List[np.ndarray]) -> np.ndarray:
    """Per level [D, C, l, l] -> the 4680-vector: levels in order, (channel, h, w, d) within a level."""
    out = []
    for l, m in zip(LEVELS, per_slice):
        level = np.stack([m[d0:d1].max(axis=0) for d0, d1 in windows(m.shape[0], l)], axis=-1)
        out.append(level.reshape(-1))
    return np.concatenate(out).astype(np.float32)


# ---------------------------------------------------------------- step 6: postprocessing

def back_map_axis(axis: dict, b0: int, b1: int) -> dict:
    x = np.arange(axis["input"], dtype=np.float64)
    centre = (x + 0.5) / axis["scale"]
    inside = np.nonzero((centre >= b0) & (centre < b1))[0]
    start, stop = (int(inside[0]), int(inside[-1]) + 1) if inside.size else (0, 0)
    u = centre[start:stop] - 0.5
    lower = np.floor(u).astype(np.int64)
    last = axis["output"] - 1
    in_box = lambda o: np.where((o >= b0) & (o < b1), o - b0, -1)  # noqa: E731
    return {"start": start, "stop": stop, "frac": u - lower,
            "grid_lower": np.clip(lower, 0, last), "grid_upper": np.clip(lower + 1, 0, last),
            "box_lower": in_box(lower), "box_upper": in_box(lower + 1)}


def back_map_masks(dims, rows_axis, cols_axis, box, lung_prob, lesion_prob, thresholds):
    """Model-layout (source resolution) uint8 lung and lesion masks, computed inside the box only."""
    lung = np.zeros(dims, np.uint8)
    lesion = np.zeros(dims, np.uint8)
    rm = back_map_axis(rows_axis, *box["rows"])
    cm = back_map_axis(cols_axis, *box["cols"])
    fr, fc = rm["frac"][:, None], cm["frac"][None, :]
    for s in range(*box["slices"]):
        g = lung_prob[s].astype(np.float64)
        top = g[rm["grid_lower"]][:, cm["grid_lower"]] * (1 - fc) + g[rm["grid_lower"]][:, cm["grid_upper"]] * fc
        bottom = g[rm["grid_upper"]][:, cm["grid_lower"]] * (1 - fc) + g[rm["grid_upper"]][:, cm["grid_upper"]] * fc
        is_lung = top * (1 - fr) + bottom * fr > thresholds["lungs"]
        p = np.pad(lesion_prob[s - box["slices"][0]].astype(np.float64), 1)  # zero padding; index -1 -> 0
        bl, bu, cl, cu = rm["box_lower"] + 1, rm["box_upper"] + 1, cm["box_lower"] + 1, cm["box_upper"] + 1
        top = p[bl][:, cl] * (1 - fc) + p[bl][:, cu] * fc
        bottom = p[bu][:, cl] * (1 - fc) + p[bu][:, cu] * fc
        is_lesion = is_lung & (top * (1 - fr) + bottom * fr > thresholds["lesions"])
        lung[s, rm["start"]:rm["stop"], cm["start"]:cm["stop"]] = is_lung
        lesion[s, rm["start"]:rm["stop"], cm["start"]:cm["stop"]] = is_lesion
    return lung, lesion


class Mulberry32:
    """The same 32-bit stream as lung-split.ts mulberry32 (JS Math.imul / >>> semantics)."""
    M = 0xFFFFFFFF

    def __init__(self, seed: int):
        self.a = seed & self.M

    def __call__(self) -> float:
        M = self.M
        self.a = (self.a + 0x6D2B79F5) & M
        t = self.a
        t = ((t ^ (t >> 15)) * (t | 1)) & M
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & M)) & M
        return ((t ^ (t >> 14)) & M) / 4294967296


def squared_distance(p: np.ndarray, c: np.ndarray) -> np.ndarray:
    dx, dy, dz = p[:, 0] - c[0], p[:, 1] - c[1], p[:, 2] - c[2]
    return dx * dx + dy * dy + dz * dz


def two_means(points: np.ndarray, seed: int = SPLIT_SEED, max_iterations: int = 100):
    """k-means++ seeding from mulberry32(seed), Lloyd to a fixed point; ties go to cluster 0.
    Sums are sequential (cumsum) as in TypeScript. sklearn's stream is not reproduced."""
    n = len(points)
    random = Mulberry32(seed)
    first = points[math.floor(random() * n)].copy()
    d2 = squared_distance(points, first)
    running = np.cumsum(d2)
    target = random() * running[-1]
    hits = np.nonzero(running > target)[0]
    second = int(hits[0]) if hits.size else n - 1
    centres = [first, points[second].copy()]
    labels = np.full(n, 255, np.uint8)
    for _ in range(max_iterations):
        new = (squared_distance(points, centres[1]) < squared_distance(points, centres[0])).astype(np.uint8)
        if np.array_equal(new, labels):
            break
        labels = new
        for k in (0, 1):
            members = points[labels == k]
            if len(members):
                centres[k] = np.cumsum(members, axis=0)[-1] / len(members)
    return centres, labels


def patient_mm(flat: np.ndarray, shape, geometry) -> np.ndarray:
    k, j, i = np.unravel_index(flat, shape)
    origin, step = geometry["origin"], [[v * s for v in d] for d, s in zip(geometry["directions"], geometry["spacing"])]
    return np.stack([origin[a] + i * step[0][a] + j * step[1][a] + k * step[2][a] for a in range(3)], axis=1)


def split_lungs(lung_src: np.ndarray, geometry, chunk: int = 1 << 20) -> Tuple[np.ndarray, np.ndarray]:
    right, left = np.zeros_like(lung_src), np.zeros_like(lung_src)
    flat = np.flatnonzero(lung_src)
    if flat.size == 0:
        return right, left
    centres, _ = two_means(patient_mm(flat[::SPLIT_STRIDE], lung_src.shape, geometry))
    right_index = 0 if centres[0][0] <= centres[1][0] else 1
    by_label = (right, left) if right_index == 0 else (left, right)
    for start in range(0, flat.size, chunk):  # bounded memory: a few arrays of `chunk` points
        part = flat[start:start + chunk]
        p = patient_mm(part, lung_src.shape, geometry)
        to_1 = squared_distance(p, centres[1]) < squared_distance(p, centres[0])
        by_label[0].flat[part[~to_1]] = 1
        by_label[1].flat[part[to_1]] = 1
    return right, left


def measure(right, left, lesion, geometry) -> dict:
    sp = geometry["spacing"]
    voxel_ml = (sp[0] * sp[1] * sp[2]) / 1000
    counts = {"rightLung": int(right.sum(dtype=np.int64)), "leftLung": int(left.sum(dtype=np.int64)),
              "rightLesion": int((right & lesion).sum(dtype=np.int64)),
              "leftLesion": int((left & lesion).sum(dtype=np.int64))}
    pct = lambda les, lung: (100 * les) / lung if lung > 0 else 0.0  # noqa: E731
    region = lambda name, lung, les: {"region": name, "lungVolumeMl": lung * voxel_ml,  # noqa: E731
                                      "lesionVolumeMl": les * voxel_ml, "percentAffected": pct(les, lung)}
    r = region("right", counts["rightLung"], counts["rightLesion"])
    l = region("left", counts["leftLung"], counts["leftLesion"])
    both = region("both", counts["rightLung"] + counts["leftLung"], counts["rightLesion"] + counts["leftLesion"])
    return {"severityPercent": max(r["percentAffected"], l["percentAffected"]), "lungs": [l, r, both],
            "voxels": counts}


# ---------------------------------------------------------------- the whole study

def analyze(hu: np.ndarray, geometry: dict, model: ModelSet, batch: int = 16) -> Tuple[dict, dict]:
    m = model.manifest
    clock = time.perf_counter()
    laps = {}

    def lap(name):
        nonlocal clock
        now = time.perf_counter()
        laps[name] = (now - clock) * 1000
        clock = now

    start = clock
    axes = model_axes(geometry["directions"])
    data = to_model_layout(hu, axes)
    spacing = [geometry["spacing"][2 - a] for a, _ in axes]  # spacing of numpy axis a is spacing[2 - a]
    grid, rows_axis, cols_axis = resample_in_plane(data, spacing[1:], m["preprocessing"]["inPlaneSpacingMm"][0],
                                                   float(data.min()))
    x = apply_window(grid, m["preprocessing"]["window"])
    del grid
    if min(x.shape) < MIN_AXIS:
        raise TriageFailure("INVALID_GEOMETRY", f"volume {x.shape} shorter than {MIN_AXIS}")
    lap("preprocessMs")

    lung_prob = np.empty_like(x)
    for s in range(0, x.shape[0], batch):
        lung_prob[s:s + batch] = sigmoid(model.run("lungs", "slice", x[s:s + batch, None])[0][:, 0])
    box = lung_box(lung_prob, m["thresholds"]["lungs"])
    lap("lungsMs")

    (r0, r1), (c0, c1), (s0, s1) = box["rows"], box["cols"], box["slices"]
    lesion_prob = np.empty((s1 - s0, r1 - r0, c1 - c0), np.float32)
    per_slice: List[List[np.ndarray]] = [[] for _ in LEVELS]
    for s in range(s0, s1, batch):
        e = min(s + batch, s1)
        fm, lesion_logit = model.run("backbone_seg", "slice", x[s:e, None, r0:r1, c0:c1])
        for level, m2 in zip(per_slice, slice_bin_maxima(fm)):
            level.append(m2)
        lesion_prob[s - s0:e - s0] = sigmoid(lesion_logit[:, 0])
    features = pool_slice_maxima([np.concatenate(level) for level in per_slice])
    lap("backboneMs")

    logit = float(model.run("cls_mlp", "features", features[None])[0].reshape(-1)[0])
    covid = 1.0 / (1.0 + math.exp(-logit))
    lap("classifyMs")

    lung_m, lesion_m = back_map_masks(data.shape, rows_axis, cols_axis, box, lung_prob, lesion_prob, m["thresholds"])
    lung_src, lesion_src = to_source_layout(lung_m, axes), to_source_layout(lesion_m, axes)
    right, left = split_lungs(lung_src, geometry)
    measured = measure(right, left, lesion_src, geometry)
    lap("postprocessMs")
    laps["totalMs"] = (time.perf_counter() - start) * 1000

    result = {"model": {"id": m["id"], "name": m["name"], "version": m["version"]}, "covidProbability": covid,
              **measured, "lungBox": box, "timings": laps}
    return result, {"rightLung": right, "leftLung": left, "lesion": lesion_src}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--manifest", required=True, type=Path)
    ap.add_argument("--dicom", type=Path)
    ap.add_argument("--raw", type=Path)
    ap.add_argument("--geometry", type=Path)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--masks-out", type=Path, help="write rightLung/leftLung/lesion .u8 (CtVolume layout) here")
    args = ap.parse_args(argv)
    hu, geometry = load_dicom(args.dicom) if args.dicom else load_raw(args.raw, args.geometry)
    model = ModelSet(args.manifest, args.threads)
    try:
        result, masks = analyze(hu, geometry, model, args.batch)
    except TriageFailure as failure:
        print(json.dumps({"error": {"code": failure.code, "message": str(failure)}}))
        return 3
    if args.masks_out:
        args.masks_out.mkdir(parents=True, exist_ok=True)
        for name, mask in masks.items():
            mask.astype(np.uint8).tofile(args.masks_out / f"{name}.u8")
    result["peakRssMb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
