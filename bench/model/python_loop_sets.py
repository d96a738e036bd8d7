"""The baseline for golden sets in ONNX's test-data layout, as teams write it: one onnxruntime
session; for each test_data_set_K folder, read input_0.pb and output_0.pb, run, numpy.allclose.
Also times ONNX Runtime's compute alone: the same session.run calls on the same inputs, already
in memory (the floor any tool pays).

    python3 python_loop_sets.py MODEL CASES_DIR [RTOL ATOL]

Prints `N cases, P passed, F failed`, `in-process: X s` (session creation and the loop, after
interpreter start and imports) and `compute: Y s` (the runs alone)."""
import glob
import os
import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, numpy_helper


def read(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def main():
    model, cases = sys.argv[1], sys.argv[2]
    rtol = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3
    atol = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-5
    start = time.perf_counter()
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    sets = sorted(glob.glob(os.path.join(cases, "test_data_set_*")),
                  key=lambda p: int(p.rsplit("_", 1)[1]))
    passed = 0
    inputs = []
    for d in sets:
        x = read(os.path.join(d, "input_0.pb"))
        want = read(os.path.join(d, "output_0.pb"))
        got = session.run(None, {name: x})[0]
        passed += bool(np.allclose(got, want, rtol=rtol, atol=atol))
        inputs.append(x)
    looped = time.perf_counter() - start
    start = time.perf_counter()
    for x in inputs:
        session.run(None, {name: x})
    compute = time.perf_counter() - start
    print(f"{len(sets)} cases, {passed} passed, {len(sets) - passed} failed")
    print(f"in-process: {looped:.4f} s")
    print(f"compute: {compute:.4f} s")


if __name__ == "__main__":
    main()
