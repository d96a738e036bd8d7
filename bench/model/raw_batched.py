"""The model benchmark's lower bound: one ONNX Runtime session, one `sess.run` on all the rows
at once, and one vectorised closeness check per output (numpy.isclose, rtol 1.3e-6, atol 1e-5,
as numpy.allclose but counting the rows that pass; exact equality on non-float outputs). Prints
the same counts and in-process time as python_loop.py; exit 1 when a case fails.

Requires numpy and onnxruntime. Usage: raw_batched.py MODEL CASES.npz"""
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
actual = sess.run(None, {name: arrays[name] for name in inputs})
ok = np.ones(n, dtype=bool)
for name, a in zip(outputs, actual):
    e = arrays[name]
    if a.shape != e.shape:
        ok[:] = False
    elif a.dtype.kind == "f":
        ok &= np.isclose(a, e, rtol=RTOL, atol=ATOL).reshape(n, -1).all(axis=1)
    else:
        ok &= (a == e).reshape(n, -1).all(axis=1)
passed = int(ok.sum())
failed = n - passed
elapsed = time.perf_counter() - start

print(f"raw batched: {n} cases, {passed} passed, {failed} failed")
print(f"in-process: {elapsed:.4f} s")
sys.exit(1 if failed else 0)
