"""Write the tiny ONNX graph used by libs/inference unit tests (onnx-session.spec.ts).

  x[N,2] float32 -> y[N,2] = 2*x + 1

Run from the repo root with the training venv:
  .cache/venv-train/bin/python test/python/inference_tiny_model.py libs/inference/src/testing/affine.onnx
"""
from __future__ import annotations

import sys
import warnings

import torch
from torch import nn


class Affine(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2.0 + 1.0


def main(path: str) -> None:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(Affine().eval(), (torch.zeros(1, 2),), path, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "N"}, "y": {0: "N"}}, opset_version=17, dynamo=False)
    print(path)


if __name__ == "__main__":
    main(sys.argv[1])
