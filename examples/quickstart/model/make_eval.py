"""Writes eval.csv, the quickstart gate's evaluation data: 400 iris-like flowers measured at two
sites (`site`: greenhouse or field), labelled by a botanist. Features are drawn around iris-like
means (seeded); the botanist's label is what classifier.onnx answers, except for 5 % of the
flowers, where it is another class, so the classifier gets most but not all of them right.

Requires numpy and onnxruntime. Usage: python3 make_eval.py   (writes next to this script)"""
import os

import numpy as np
import onnxruntime as ort

rng = np.random.default_rng(11)
means = np.array([[5.0, 3.4, 1.5, 0.25], [6.9, 2.5, 3.2, 0.45], [6.6, 3.0, 5.6, 2.0]])
spread = np.array([0.35, 0.35, 0.35, 0.2])
here = os.path.dirname(os.path.abspath(__file__))
sess = ort.InferenceSession(os.path.join(here, "classifier.onnx"), providers=["CPUExecutionProvider"])
rows = []
for i in range(400):
    x = np.round(means[i % 3] + rng.normal(0.0, 1.0, 4) * spread, 2)
    (label,) = sess.run(["label"], {"input": x.astype(np.float32).reshape(1, 4)})[0]
    label = int(label)
    if rng.random() < 0.05:
        label = (label + 1 + int(rng.integers(0, 2))) % 3
    site = "greenhouse" if rng.random() < 0.6 else "field"
    rows.append([f"{v:.2f}" for v in x] + [str(label), site])
with open(os.path.join(here, "eval.csv"), "w", newline="\n") as f:
    f.write("sepal_length,sepal_width,petal_length,petal_width,species,site\n")
    for r in rows:
        f.write(",".join(r) + "\n")
