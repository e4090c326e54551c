"""FLOPs per slice of a model set, counted from the ONNX graphs (bench:inference, issue 15).

Each graph runs once in onnxruntime on one slice [1, 1, H, W] of the given plane (lungs: the full
2 mm grid; backbone_seg: the lung box; cls_mlp: its fixed [1, 4680]) with the inputs and outputs
of its Conv/ConvTranspose/MatMul/Gemm nodes added as graph outputs, so every shape is the real
one (onnx's static shape inference cannot follow the decoder's data-dependent up-sampling
sizes); the weights' shapes come from the initializers. The multiply-accumulates are summed
(1 MAC = 2 FLOPs):
  Conv           N·Cout·Hout·Wout · (Cin/group)·kh·kw        (+ bias: ignored)
  ConvTranspose  N·Cin·Hin·Win · (Cout/group)·kh·kw
  MatMul / Gemm  M·K·N of the product
Everything else (activations, norms, pooling, resizes, adds) is memory-bound and not counted.

Usage: python model_flops.py MANIFEST GRID_H GRID_W BOX_H BOX_W
Prints one JSON line: per graph MACs and FLOPs per slice (cls_mlp: per study), and the weights.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

COUNTED = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def real_shapes(model: onnx.ModelProto, input_shape: list[int]) -> dict:
    """Every counted node's activation shapes, from one onnxruntime run on random data."""
    weights = {t.name: list(t.dims) for t in model.graph.initializer}
    known = {o.name for o in model.graph.output}
    wanted = []
    for node in model.graph.node:
        if node.op_type in COUNTED:
            for name in (node.input[0], node.input[1], node.output[0]):
                if name not in weights and name not in known and name not in wanted:
                    wanted.append(name)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.extend(onnx.ValueInfoProto(name=name) for name in wanted)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # keep the nodes
    session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).random(input_shape, dtype=np.float32)
    values = session.run(None, {session.get_inputs()[0].name: x})
    shapes = {o.name: list(v.shape) for o, v in zip(session.get_outputs(), values)}
    return {**shapes, **weights}


def count(path: Path, input_shape: list[int]) -> dict:
    model = onnx.load(str(path))
    shape = real_shapes(model, input_shape)
    macs, by_op, unknown = 0, {}, []
    for node in model.graph.node:
        if node.op_type not in COUNTED:
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        x, w = shape.get(node.input[0]), shape.get(node.input[1])
        y = shape.get(node.output[0])
        if x is None or w is None or y is None:
            unknown.append(node.name)
            continue
        group = attrs.get("group", 1)
        if node.op_type == "Conv":  # w [Cout, Cin/g, kh, kw], y [N, Cout, Ho, Wo]
            m = int(np.prod(y)) * int(np.prod(w[1:]))
        elif node.op_type == "ConvTranspose":  # w [Cin, Cout/g, kh, kw], x [N, Cin, H, W]
            m = int(np.prod(x)) * int(np.prod(w[1:]))
        elif node.op_type == "Gemm":
            k = x[0] if attrs.get("transA", 0) else x[1]
            m = int(np.prod(y)) * k
        else:  # MatMul: y [..., M, N], K = x[-1]
            m = int(np.prod(y)) * x[-1]
        macs += m
        by_op[node.op_type] = by_op.get(node.op_type, 0) + m
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    return {"input": input_shape, "macs": macs, "flops": 2 * macs, "byOp": by_op, "params": params,
            "uncounted": unknown}


def main() -> None:
    manifest_path = Path(sys.argv[1])
    grid_h, grid_w, box_h, box_w = (int(v) for v in sys.argv[2:6])
    manifest = json.loads(manifest_path.read_text())
    files = {g["name"]: manifest_path.parent / g["file"] for g in manifest["graphs"]}
    result = {
        "model": manifest["id"],
        "width": manifest["weights"]["widthMultiplier"],
        "lungs": count(files["lungs"], [1, 1, grid_h, grid_w]),
        "backbone_seg": count(files["backbone_seg"], [1, 1, box_h, box_w]),
        "cls_mlp": count(files["cls_mlp"], [1, 4680]),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
