"""Writes a model that does real work and its golden cases, for bench/model-convnet.sh.

    python3 make_convnet.py KIND OUT_DIR SETS BATCH

KIND:
- convnet: 3 Conv(3x3, pad 1)+Relu layers, 3 -> 16 -> 32 -> 32 channels, on float32
  [N, 3, 96, 96] images, then global average pooling and a Gemm to 10 scores: a small vision
  model (~14k parameters, ~0.26 GFLOP per image).
- resnet18: the ResNet-18 architecture (conv 7x7/2, max pool, 4 stages of 2 basic blocks with
  batch normalisation and residual additions, global pooling, fully connected 1000) on
  [N, 3, 224, 224] images, 11.7M parameters, ~1.8 GFLOP per image.

Weights are random (numpy seed 0); the model is built with the `onnx` package (opset 17), so
nothing is downloaded. The golden cases are SETS sets of BATCH images each, in ONNX's test-data
layout (OUT_DIR/cases/test_data_set_K/input_0.pb, output_0.pb), outputs computed by onnxruntime
on the CPU. OUT_DIR/model.onnx is the model.

Requires numpy, onnx, onnxruntime."""
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
nodes, inits = [], []


def weight(name, shape, scale=None):
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    scale = scale if scale is not None else np.sqrt(2.0 / fan_in)
    inits.append(numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name))
    return name


def conv(x, name, cin, cout, k, stride=1, relu=True, bn=False):
    w = weight(f"{name}_w", (cout, cin, k, k))
    b = weight(f"{name}_b", (cout,), 0.01)
    out = f"{name}_conv"
    nodes.append(helper.make_node("Conv", [x, w, b], [out], pads=[k // 2] * 4, strides=[stride] * 2,
                                  kernel_shape=[k, k]))
    if bn:
        names = [f"{name}_bn_{p}" for p in ("scale", "bias", "mean", "var")]
        for n, values in zip(names, (1.0 + rng.standard_normal(cout) * 0.1,
                                     rng.standard_normal(cout) * 0.1,
                                     rng.standard_normal(cout) * 0.1,
                                     1.0 + rng.random(cout))):
            inits.append(numpy_helper.from_array(values.astype(np.float32), n))
        nodes.append(helper.make_node("BatchNormalization", [out, *names], [f"{name}_bn"]))
        out = f"{name}_bn"
    if relu:
        nodes.append(helper.make_node("Relu", [out], [f"{name}_relu"]))
        out = f"{name}_relu"
    return out


def head(x, channels, classes):
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"]))
    w = weight("fc_w", (classes, channels))
    b = weight("fc_b", (classes,), 0.01)
    nodes.append(helper.make_node("Gemm", ["flat", w, b], ["scores"], transB=1))
    return "scores"


def convnet():
    x = conv("images", "c1", 3, 16, 3)
    x = conv(x, "c2", 16, 32, 3)
    x = conv(x, "c3", 32, 32, 3)
    return head(x, 32, 10), 96, 10


def resnet18():
    x = conv("images", "stem", 3, 64, 7, stride=2, bn=True)
    nodes.append(helper.make_node("MaxPool", [x], ["stem_pool"], kernel_shape=[3, 3], strides=[2, 2],
                                  pads=[1, 1, 1, 1]))
    x, cin = "stem_pool", 64
    for stage, cout in enumerate([64, 128, 256, 512]):
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            name = f"s{stage}b{block}"
            y = conv(x, f"{name}a", cin, cout, 3, stride=stride, bn=True)
            y = conv(y, f"{name}b", cout, cout, 3, relu=False, bn=True)
            shortcut = x
            if stride != 1 or cin != cout:
                shortcut = conv(x, f"{name}down", cin, cout, 1, stride=stride, relu=False, bn=True)
            nodes.append(helper.make_node("Add", [y, shortcut], [f"{name}_sum"]))
            nodes.append(helper.make_node("Relu", [f"{name}_sum"], [f"{name}_out"]))
            x, cin = f"{name}_out", cout
    return head(x, 512, 1000), 224, 1000


def main():
    kind, out_dir, sets, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    output, side, classes = {"convnet": convnet, "resnet18": resnet18}[kind]()
    graph = helper.make_graph(
        nodes, kind,
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, side, side])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", classes])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="modelci-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.onnx")
    onnx.save(model, path)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    data = np.random.default_rng(1)
    for k in range(sets):
        images = data.random((batch, 3, side, side), dtype=np.float32)
        scores = session.run(None, {"images": images})[0]
        case = os.path.join(out_dir, "cases", f"test_data_set_{k}")
        os.makedirs(case, exist_ok=True)
        with open(os.path.join(case, "input_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(images, "images").SerializeToString())
        with open(os.path.join(case, "output_0.pb"), "wb") as f:
            f.write(numpy_helper.from_array(scores, output).SerializeToString())
    print(f"{kind}: {path}, {sets} sets of {batch} images {side}x{side}")


if __name__ == "__main__":
    main()
