"""Generates golden cases for the model benchmark: N random rows for MODEL's one float32 input
`[batch, F]`, with MODEL's answers from ONNX Runtime, stacked along the first axis in one .npz
keyed by the model's input and output names (one case per row, for `modelci model test
--per-row`).

Rows are uniform per feature within the training data's range, read from the model's
metadata_props `training_min` / `training_max` (JSON lists, as fixtures/models/make_sklearn.py
writes them), else within [-1, 1]; seeded, so the same arguments write the same file. The answers
come from one batched run on CPU.

Requires numpy and onnxruntime. Usage: make_cases.py MODEL OUT.npz N SEED"""
import json
import sys

import numpy as np
import onnxruntime as ort

model, out, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
(inp,) = sess.get_inputs()
if inp.type != "tensor(float)" or len(inp.shape) != 2 or not isinstance(inp.shape[1], int):
    sys.exit(f"{model}: expected one float32 input [batch, F], found {inp.name}: {inp.type} {inp.shape}")
features = inp.shape[1]
meta = sess.get_modelmeta().custom_metadata_map
lo = np.array(json.loads(meta["training_min"]) if "training_min" in meta else [-1.0] * features)
hi = np.array(json.loads(meta["training_max"]) if "training_max" in meta else [1.0] * features)
x = np.random.default_rng(seed).uniform(lo, hi, size=(n, features)).astype(np.float32)
outputs = sess.run(None, {inp.name: x})
arrays = {inp.name: x}
for o, value in zip(sess.get_outputs(), outputs):
    if not isinstance(value, np.ndarray) or value.shape[:1] != (n,):
        sys.exit(f"{model}: output `{o.name}` is not a tensor with one row per case")
    arrays[o.name] = value
np.savez(out, **arrays)
print(f"{out}: {n} cases of {model} ({', '.join(f'{k} {v.dtype}{list(v.shape)}' for k, v in arrays.items())})")
