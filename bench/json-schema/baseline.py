"""Baseline for the JSON Schema benchmark: the usual Python loop with the `jsonschema` package
(Draft 2020-12 validator, format checking on), one case per line, collecting every error, and
a JUnit-free summary. Usage: baseline.py DATA_DIR"""
import json
import os
import sys
import time

import jsonschema

d = sys.argv[1]
t = time.perf_counter()
schema = json.load(open(os.path.join(d, "prediction.schema.json")))
cls = jsonschema.validators.validator_for(schema)
validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
failed = passed = 0
with open(os.path.join(d, "log.jsonl")) as f:
    for line in f:
        if not line.strip():
            continue
        errors = list(validator.iter_errors(json.loads(line)["body"]))
        if errors:
            failed += 1
        else:
            passed += 1
print(f"python jsonschema: {passed} passed, {failed} failed in {time.perf_counter() - t:.2f} s")
