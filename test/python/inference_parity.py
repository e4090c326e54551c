"""PyTorch side of test/integration/inference-parity.spec.ts.

Exports backbone_seg.onnx (random init, fixed seed, small width; BatchNorm statistics are
randomised too so that no BN is an identity) into OUT, and writes there, as raw little-endian
float32 in C order:
  parity_input.f32   [3,1,37,53] deterministic slices (not the export trace shape 64x80)
  parity_fm.f32      PyTorch fm            [3,8,37,53]
  parity_lesion.f32  PyTorch lesion_logit  [3,1,37,53]
  pool_input.f32     [9,1,10,13] a small volume, one slice per item (D = 9 slices)
  pool_fm.f32        PyTorch fm of it      [9,8,10,13]
  pool_expected.f32  pyramid_pool_numpy(fm as (8,10,13,9)) -> 4680
and meta.json with the shapes.

Usage:  .cache/venv-train/bin/python test/python/inference_parity.py OUT [--width 0.25] [--seed 7]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "training"))

from covid_triage import networks  # noqa: E402
from covid_triage.export import export_graphs  # noqa: E402
from covid_triage.pyramid_pool import pyramid_pool_numpy  # noqa: E402


def deterministic(shape, phase: float) -> np.ndarray:
    """Smooth-ish values in [0, 1], like windowed CT."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    return (0.5 + 0.5 * np.sin(0.37 * i + phase) * np.cos(0.011 * i)).astype(np.float32).reshape(shape)


def randomise_bn(model: nn.Module, gen: torch.Generator) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)

    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed)
    models = (networks.LungNet(a.width), networks.BackboneSeg(a.width), networks.ClsMLP())
    for m in models:
        randomise_bn(m, gen)
        m.eval()
    export_graphs(a.out, *models)
    backbone_seg = models[1]

    def save(name: str, x: np.ndarray) -> list:
        np.ascontiguousarray(x, dtype="<f4").tofile(a.out / name)
        return list(x.shape)

    meta = {"width": a.width, "seed": a.seed}
    x = deterministic((3, 1, 37, 53), 0.0)
    with torch.no_grad():
        fm, lesion = backbone_seg(torch.from_numpy(x))
    meta["parity"] = {"input": save("parity_input.f32", x), "fm": save("parity_fm.f32", fm.numpy()),
                      "lesion_logit": save("parity_lesion.f32", lesion.numpy())}

    v = deterministic((9, 1, 10, 13), 1.3)
    with torch.no_grad():
        vfm, _ = backbone_seg(torch.from_numpy(v))
    vfm = vfm.numpy()  # [D, 8, H, W]
    expected = pyramid_pool_numpy(np.transpose(vfm, (1, 2, 3, 0)))  # (8, H, W, D)
    meta["pool"] = {"input": save("pool_input.f32", v), "fm": save("pool_fm.f32", vfm),
                    "expected": save("pool_expected.f32", expected)}
    (a.out / "meta.json").write_text(json.dumps(meta) + "\n")
    print(json.dumps(meta))


if __name__ == "__main__":
    main()
