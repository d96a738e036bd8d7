#!/usr/bin/env python3
"""Canary judge benchmark: `modelci canary judge` on 10 metrics with 100,000 samples per side
each (two CSV files of 100,000 rows and 10 columns), wall time of the whole command (reading the
files, a Mann-Whitney U test and a Hodges-Lehmann interval per metric, the report).

Usage (from the repository root):
    cargo build --release -p modelci
    python3 bench/canary/judge.py [--samples 100000] [--metrics 10] [--runs 5]

The issue's target: < 1 s on 2 cores. Timings are never asserted anywhere.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELCI = os.path.join(ROOT, "target/release/modelci")


def write(path, rows, metrics, shift, rng):
    with open(path, "w") as f:
        f.write(",".join(f"m{i}" for i in range(metrics)) + "\n")
        for _ in range(rows):
            f.write(",".join(f"{100 * rng.lognormvariate(0, 0.5) * (1 + shift * (i % 2)):.4f}"
                             for i in range(metrics)) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=100_000)
    ap.add_argument("--metrics", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not os.path.exists(MODELCI):
        sys.exit("build first: cargo build --release -p modelci")
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        write(os.path.join(tmp, "baseline.csv"), args.samples, args.metrics, 0.0, rng)
        # Every other metric 2% higher on the canary.
        write(os.path.join(tmp, "canary.csv"), args.samples, args.metrics, 0.02, rng)
        with open(os.path.join(tmp, "modelci.toml"), "w") as f:
            f.write('[[suite.canary]]\nname = "bench"\n[suite.canary.files]\n'
                    'baseline = "baseline.csv"\ncanary = "canary.csv"\n')
            for i in range(args.metrics):
                f.write(f'[[suite.canary.metric]]\nname = "m{i}"\ntolerance = 0.01\n')
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            r = subprocess.run([MODELCI, "-q", "canary", "judge", "--config",
                                os.path.join(tmp, "modelci.toml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - start)
            if r.returncode not in (0, 1):
                sys.exit(f"modelci canary judge exited {r.returncode}")
        print(f"{args.metrics} metrics x {args.samples} samples per side, {args.runs} runs: "
              f"median {statistics.median(times) * 1000:.0f} ms, min {min(times) * 1000:.0f} ms "
              f"(target < 1000 ms)")


if __name__ == "__main__":
    main()
