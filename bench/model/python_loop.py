"""The model benchmark's Python loop: golden cases checked the way teams write it today. One
ONNX Runtime session, then one `sess.run` per case (row) and `numpy.allclose` on every float
output (rtol 1.3e-6, atol 1e-5, modelci's float32 defaults), exact equality on the others.
Prints the counts and the in-process time (session creation and the loop, after the imports
and the .npz read); exit 1 when a case fails.

Requires numpy and onnxruntime. Usage: python_loop.py MODEL CASES.npz"""
import sys
import time

import numpy as np
import onnxruntime as ort

RTOL, ATOL = 1.3e-6, 1e-5
model, cases = sys.argv[1], sys.argv[2]
with np.load(cases) as z:
    arrays = {k: z[k] for k in z.files}

start = time.perf_counter()
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
inputs = [i.name for i in sess.get_inputs()]
outputs = [o.name for o in sess.get_outputs()]
n = len(arrays[inputs[0]])
passed = failed = 0
for i in range(n):
    actual = sess.run(None, {name: arrays[name][i : i + 1] for name in inputs})
    ok = True
    for name, a in zip(outputs, actual):
        e = arrays[name][i : i + 1]
        if a.dtype.kind == "f":
            ok = ok and a.shape == e.shape and np.allclose(a, e, rtol=RTOL, atol=ATOL)
        else:
            ok = ok and np.array_equal(a, e)
    if ok:
        passed += 1
    else:
        failed += 1
elapsed = time.perf_counter() - start

print(f"python loop: {n} cases, {passed} passed, {failed} failed")
print(f"in-process: {elapsed:.4f} s")
sys.exit(1 if failed else 0)
