"""Reference 3D pyramid max pooling (notes §1, classification head step 2).

For an axis of length L and l bins: stride s = floor(L / l), kernel k = L - (l - 1) * s,
window i covers [i*s, i*s + k). Windows overlap when l does not divide L; this is NOT
AdaptiveMaxPool. Levels 1, 2, 4, 8 per axis -> 1 + 8 + 64 + 512 = 585 bins, times 8
channels = 4680 features. Layout: levels in order; within a level (channel, h, w, d),
channel-major (C order). The TypeScript side must reproduce exactly this.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

LEVELS = (1, 2, 4, 8)
N_BINS = sum(l ** 3 for l in LEVELS)  # 585
CHANNELS = 8
FEATURE_SIZE = N_BINS * CHANNELS  # 4680
MIN_AXIS = max(LEVELS)  # stride floor(L/8) must be >= 1


def windows(length: int, bins: int) -> List[Tuple[int, int]]:
    """Half-open [start, stop) windows of one axis for one level."""
    if length < bins:
        raise ValueError(f"axis of length {length} is shorter than {bins} bins")
    stride = length // bins
    kernel = length - (bins - 1) * stride
    return [(i * stride, i * stride + kernel) for i in range(bins)]


def _check(shape: Sequence[int], channels: int | None) -> None:
    if len(shape) != 4:
        raise ValueError(f"expected (C, H, W, D), got shape {tuple(shape)}")
    if channels is not None and shape[0] != channels:
        raise ValueError(f"expected {channels} channels, got {shape[0]}")
    if min(shape[1:]) < MIN_AXIS:
        raise ValueError(f"every spatial axis must be >= {MIN_AXIS}, got {tuple(shape[1:])}")


def pyramid_pool_numpy(x: np.ndarray, channels: int | None = CHANNELS) -> np.ndarray:
    """x: (C, H, W, D) -> float32 vector of C * 585 features. Loops are explicit on purpose:
    this is the readable reference the other implementations are checked against."""
    _check(x.shape, channels)
    out = []
    for l in LEVELS:
        wh, ww, wd = (windows(n, l) for n in x.shape[1:])
        level = np.empty((x.shape[0], l, l, l), dtype=np.float32)
        for i, (h0, h1) in enumerate(wh):
            for j, (w0, w1) in enumerate(ww):
                for k, (d0, d1) in enumerate(wd):
                    level[:, i, j, k] = x[:, h0:h1, w0:w1, d0:d1].max(axis=(1, 2, 3))
        out.append(level.reshape(-1))
    return np.concatenate(out)


def pyramid_pool_torch(x, channels: int | None = CHANNELS):
    """Same rule with F.max_pool3d; x: (C, H, W, D) or (N, C, H, W, D) tensor.
    Returns (C*585,) or (N, C*585). Kernel/stride are computed per call from the real shape,
    which is why this cannot be baked into a traced ONNX graph (notes §7)."""
    import torch
    import torch.nn.functional as F

    batched = x.dim() == 5
    xb = x if batched else x.unsqueeze(0)
    _check(xb.shape[1:], channels)
    shape = xb.shape[2:]
    feats = []
    for l in LEVELS:
        stride = tuple(n // l for n in shape)
        kernel = tuple(n - (l - 1) * s for n, s in zip(shape, stride))
        pooled = F.max_pool3d(xb, kernel_size=kernel, stride=stride, ceil_mode=True)
        assert pooled.shape[2:] == (l, l, l), pooled.shape
        feats.append(pooled.reshape(xb.shape[0], -1))
    out = torch.cat(feats, dim=1)
    return out if batched else out[0]


GOLDEN_SHAPES = ((8, 10, 13, 9), (8, 8, 8, 8), (8, 17, 11, 12))


def golden_cases(seed: int = 20200601):
    """Deterministic inputs whose values are multiples of 1/4 in [-100, 100): exact in float32
    and short in JSON (keeps the golden file small)."""
    rng = np.random.default_rng(seed)
    cases = []
    for shape in GOLDEN_SHAPES:
        x = (rng.integers(-400, 400, size=shape) / 4.0).astype(np.float32)
        cases.append((x, pyramid_pool_numpy(x)))
    return cases


def _num(v: float) -> float | int:
    f = float(v)
    return int(f) if f.is_integer() else f


def write_golden(path: Path) -> Path:
    cases = []
    for x, y in golden_cases():
        cases.append({
            "shape": list(x.shape),
            "input": [_num(v) for v in x.reshape(-1)],
            "expected": [_num(v) for v in y],
        })
    doc = {
        "description": "3D pyramid max pooling golden vectors (COVID-19 triage cls head features)",
        "levels": list(LEVELS),
        "featureSize": FEATURE_SIZE,
        "inputLayout": "float32, (channel, h, w, d) flattened in C order (d fastest)",
        "outputLayout": "levels in order 1,2,4,8; within a level (channel, hBin, wBin, dBin), C order",
        "rule": "stride=floor(L/l), kernel=L-(l-1)*stride, window i = [i*stride, i*stride+kernel)",
        "cases": cases,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    return path


if __name__ == "__main__":
    p = write_golden(Path(__file__).resolve().parents[1] / "golden" / "pyramid_pool.json")
    print(f"wrote {p} ({p.stat().st_size} bytes)")
