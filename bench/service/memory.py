#!/usr/bin/env python3
"""Peak memory of the reference service per inference request, against the request's size.

Starts `modelci-service` (release build) serving fixtures/models/mlp.onnx (input [-1, 20],
FP32) with a 64 MiB body limit, then for each kind of request resets the process's peak RSS
(`/proc/PID/clear_refs`), sends the request, and reads the peak (`VmHWM`) back:

- `valid`: N rows of 20 floats (`%.6f`, about 9 bytes each), answered 200;
- `wrong datatype`: the same body declaring FP64, refused (400) before its data is read;
- `wrong count`: the same body with one value missing, refused (400) once its data is counted.

It prints, per request, the body size, the growth of the peak over the RSS before, and their
ratio; the issue's target is a growth of at most 3x the body. Linux only (it reads /proc).

Usage: bench/service/memory.py [--mb 60] [--service target/release/modelci-service]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def body(rows, datatype="FP32", drop=0):
    rng = random.Random(7)
    values = ",".join("%.6f" % rng.uniform(-3, 3) for _ in range(rows * 20 - drop))
    return ('{"inputs":[{"name":"input","shape":[%d,20],"datatype":"%s","data":[%s]}]}'
            % (rows, datatype, values)).encode()


def post(url, data):
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mb", type=float, default=60.0, help="request body size in MB")
    p.add_argument("--service", default=os.path.join(ROOT, "target/release/modelci-service"))
    args = p.parse_args()
    rows = int(args.mb * 1e6 / (20 * 9.5))
    svc = subprocess.Popen(
        [args.service, "--host", "127.0.0.1", "--port", "0", "--device", "cpu",
         "--model", "mlp=" + os.path.join(ROOT, "fixtures/models/mlp.onnx"),
         "--max-body-bytes", str(64 * 1024 * 1024), "--deadline-ms", "300000"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = svc.stdout.readline().strip()
        base = line.removeprefix("listening on ")
        url = base + "/v2/models/mlp/infer"
        # Warm up: the first inference loads ONNX Runtime's kernels.
        post(url, body(4))
        print(f"service: {args.service}")
        print(f"{'request':<16} {'status':>6} {'body MB':>8} {'peak growth MB':>15} {'ratio':>6}")
        for name, data in [
            ("valid", body(rows)),
            ("wrong datatype", body(rows, "FP64")),
            ("wrong count", body(rows, drop=1)),
        ]:
            time.sleep(0.5)
            reset_peak(svc.pid)
            before = status(svc.pid, "VmRSS")
            code = post(url, data)
            time.sleep(0.2)
            peak = status(svc.pid, "VmHWM")
            growth = max(0, peak - before)
            print(f"{name:<16} {code:>6} {len(data) / 1e6:>8.1f} {growth / 1e6:>15.1f} "
                  f"{growth / len(data):>6.2f}")
            del data
    finally:
        svc.terminate()
        svc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
