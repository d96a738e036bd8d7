#!/usr/bin/env python3
"""Load generator benchmark: requests per second on loopback against one tiny server, modelci
side by side with oha and wrk, each generator pinned to one core and the server to another; and
each generator's CPU cost per request (user + system time of its process / requests sent).

Usage (from the repository root, after building):
    cargo build --release -p modelci -p modelci-load --example tiny_server
    python3 bench/load/bench.py [--seconds 10] [--connections 50] [--runs 3]
        [--oha PATH] [--wrk PATH]

Tools that are not installed are left out (oha: `cargo install oha`; wrk: the Debian package).
Prints a table and the ratio of modelci's rate to oha's; timings are never asserted anywhere.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def pinned(core, argv):
    return ["taskset", "-c", str(core)] + argv


def cpu_of(argv):
    """Runs argv and returns (stdout, cpu seconds) measured with wait4."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # communicate() reads both pipes while it runs (a full pipe would block the tool) but
    # reaps the process itself; read them here and reap with wait4 for the resource usage.
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"{' '.join(argv[:6])} failed ({code}): {err.decode(errors='replace')[-2000:]}")
    return out.decode(errors="replace"), usage.ru_utime + usage.ru_stime


def modelci(url, seconds, conns, core, rate=None):
    with tempfile.TemporaryDirectory() as d:
        report = os.path.join(d, "load.json")
        exe = os.path.join(ROOT, "target/release/modelci")
        load = (["--rate", str(rate), "--max-in-flight", str(conns)] if rate
                else ["--vus", str(conns)])
        argv = pinned(core, [exe, "-q", "load", "--url", url] + load +
                      ["--duration", f"{seconds}s", "--json", report])
        _, cpu = cpu_of(argv)
        with open(report) as f:
            props = json.load(f)["suites"][0]["properties"]
        return float(props["achieved_rps"]), int(props["sent"]), cpu


def oha(path, url, seconds, conns, core, rate=None):
    open_model = ["-q", str(rate), "--latency-correction"] if rate else []
    argv = pinned(core, [path, "-z", f"{seconds}s", "-c", str(conns), "--no-tui",
                         "--output-format", "json"] + open_model + [url])
    out, cpu = cpu_of(argv)
    data = json.loads(out)
    rps = float(data["summary"]["requestsPerSec"])
    sent = int(round(rps * float(data["summary"]["total"])))
    return rps, sent, cpu


def wrk(path, url, seconds, conns, core):
    argv = pinned(core, [path, "-t1", f"-c{conns}", f"-d{seconds}s", url])
    out, cpu = cpu_of(argv)
    rps = float(re.search(r"Requests/sec:\s*([0-9.]+)", out).group(1))
    sent = int(re.search(r"(\d+) requests in", out).group(1))
    return rps, sent, cpu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--oha", default=shutil.which("oha"))
    ap.add_argument("--wrk", default=shutil.which("wrk"))
    ap.add_argument("--port", type=int, default=18181)
    ap.add_argument("--rate", type=int, default=20000,
                    help="the open-model comparison's rate (0: leave it out)")
    args = ap.parse_args()

    server_exe = os.path.join(ROOT, "target/release/examples/tiny_server")
    if not os.path.exists(server_exe):
        sys.exit("build first: cargo build --release -p modelci -p modelci-load --example tiny_server")
    cores = os.cpu_count() or 1
    server_core, load_core = (1, 0) if cores > 1 else (0, 0)
    server = subprocess.Popen(pinned(server_core, [server_exe, f"127.0.0.1:{args.port}"]),
                              stdout=subprocess.PIPE)
    server.stdout.readline()
    url = f"http://127.0.0.1:{args.port}/"
    tools = [("modelci", lambda: modelci(url, args.seconds, args.connections, load_core))]
    if args.oha:
        tools.append(("oha", lambda: oha(args.oha, url, args.seconds, args.connections, load_core)))
    if args.wrk:
        tools.append(("wrk", lambda: wrk(args.wrk, url, args.seconds, args.connections, load_core)))
    open_tools = [("modelci", lambda: modelci(url, args.seconds, args.connections, load_core,
                                              args.rate))]
    if args.oha:
        open_tools.append(("oha", lambda: oha(args.oha, url, args.seconds, args.connections,
                                              load_core, args.rate)))
    results = {name: [] for name, _ in tools}
    open_results = {name: [] for name, _ in open_tools}
    try:
        for _ in range(args.runs):
            # Interleaved, so that a slow spell of the machine hits every tool alike.
            for name, fn in tools:
                results[name].append(fn())
                time.sleep(1)
            if args.rate:
                for name, fn in open_tools:
                    open_results[name].append(fn())
                    time.sleep(1)
    finally:
        server.terminate()
        server.wait()
    print(f"{args.connections} connections, {args.seconds} s per run, best of {args.runs}; "
          f"generator on core {load_core}, server on core {server_core}")
    print(f"{'tool':<8} {'req/s':>10} {'cpu us/req':>11}")
    best = {}
    for name, runs in results.items():
        rps, sent, cpu = max(runs, key=lambda r: r[0])
        best[name] = rps
        print(f"{name:<8} {rps:>10.0f} {cpu * 1e6 / max(sent, 1):>11.2f}")
    if "oha" in best:
        print(f"modelci / oha: {best['modelci'] / best['oha']:.2f}")
    if "wrk" in best:
        print(f"modelci / wrk: {best['modelci'] / best['wrk']:.2f}")
    if args.rate:
        print()
        print(f"open model at {args.rate} req/s (oha: -q with --latency-correction), "
              f"{args.connections} connections at most")
        print(f"{'tool':<8} {'req/s':>10} {'cpu us/req':>11}")
        for name, runs in open_results.items():
            rps, sent, cpu = min(runs, key=lambda r: r[2] / max(r[1], 1))
            print(f"{name:<8} {rps:>10.0f} {cpu * 1e6 / max(sent, 1):>11.2f}")


if __name__ == "__main__":
    main()
