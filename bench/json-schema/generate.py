"""Writes the JSON Schema benchmark's data: N prediction-log lines (JSON Lines, ~2% invalid)
and a modelci.toml that checks them against examples/quickstart/schemas/prediction.schema.json.
Deterministic (fixed seed). Usage: generate.py OUT_DIR [N]"""
import json
import os
import random
import shutil
import sys

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 200_000
os.makedirs(out, exist_ok=True)
here = os.path.dirname(os.path.abspath(__file__))
shutil.copy(os.path.join(here, "../../examples/quickstart/schemas/prediction.schema.json"),
            os.path.join(out, "prediction.schema.json"))
rng = random.Random(1)
with open(os.path.join(out, "log.jsonl"), "w") as f:
    for i in range(n):
        body = {
            "label": rng.choice(["cat", "dog", "bird"]),
            "confidence": rng.random() * 1.02,
            "model_version": "3",
            "served_at": "2026-11-20T10:00:01Z",
        }
        f.write(json.dumps({"ts": "2026-11-20T10:00:01Z", "status": 200, "body": body}) + "\n")
with open(os.path.join(out, "modelci.toml"), "w") as f:
    f.write('[[suite.json-schema]]\nname = "log"\nschema = "prediction.schema.json"\n'
            'files = ["log.jsonl"]\npointer = "/body"\n')
