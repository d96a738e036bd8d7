#!/usr/bin/env python3
"""Fault proxy benchmark: what `modelci chaos proxy` adds to a request when no fault is active
(p50 through the proxy minus p50 direct, measured by `modelci load` with one user), and how
accurate its injected latency and fault rate are.

Usage (from the repository root, after building):
    cargo build --release -p modelci -p modelci-load --example tiny_server
    python3 bench/chaos/proxy.py [--seconds 5] [--links 10000] [--protocol tcp|http]

With `--protocol http` the proxy runs in HTTP mode (a reverse proxy per request) and the fault
rate is measured with `http_error` at toxicity 0.2 under 4 users for `--seconds` (failed share).

Timings are never asserted anywhere; the issue's targets are printed beside the figures.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELCI = os.path.join(ROOT, "target/release/modelci")
SERVER = os.path.join(ROOT, "target/release/examples/tiny_server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None


def load(url, seconds, vus, tmp):
    report = os.path.join(tmp, "load.json")
    subprocess.run([MODELCI, "-q", "load", "--url", url, "--vus", str(vus), "--duration",
                    f"{seconds}s", "--json", report], check=True, stdout=subprocess.DEVNULL)
    with open(report) as f:
        props = json.load(f)["suites"][0]["properties"]
    return float(props["p50_ms"]), float(props["p99_ms"]), int(props["sent"])


def load_failed(url, seconds, tmp):
    """Loads `url` with 4 users for `seconds`; returns (failed, sent)."""
    report = os.path.join(tmp, "load.json")
    subprocess.run([MODELCI, "-q", "load", "--url", url, "--vus", "4", "--duration",
                    f"{seconds}s", "--json", report], stdout=subprocess.DEVNULL)
    with open(report) as f:
        props = json.load(f)["suites"][0]["properties"]
    return int(props["failed"]), int(props["sent"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--links", type=int, default=10000)
    ap.add_argument("--protocol", choices=["tcp", "http"], default="tcp")
    args = ap.parse_args()
    for exe in (MODELCI, SERVER):
        if not os.path.exists(exe):
            sys.exit("build first: cargo build --release -p modelci -p modelci-load --example tiny_server")
    port = free_port()
    server = subprocess.Popen([SERVER, f"127.0.0.1:{port}"], stdout=subprocess.PIPE)
    server.stdout.readline()
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "toxiproxy.json")
        with open(config, "w") as f:
            json.dump([{"name": "bench", "listen": "127.0.0.1:0",
                        "upstream": f"127.0.0.1:{port}", "protocol": args.protocol}], f)
        proxy = subprocess.Popen([MODELCI, "chaos", "proxy", "--port", "0", "--config", config],
                                 stdout=subprocess.PIPE, text=True)
        base = proxy.stdout.readline().strip().removeprefix("listening on ")
        listen = proxy.stdout.readline().split(": ")[1].split(" -> ")[0]
        try:
            direct = f"http://127.0.0.1:{port}/"
            through = f"http://{listen}/"
            d50, d99, dn = load(direct, args.seconds, 1, tmp)
            p50, p99, pn = load(through, args.seconds, 1, tmp)
            print(f"{args.protocol} mode, no fault, one user, {args.seconds} s each:")
            print(f"  direct        p50 {d50 * 1000:8.1f} us  p99 {d99 * 1000:8.1f} us  ({dn} requests)")
            print(f"  through proxy p50 {p50 * 1000:8.1f} us  p99 {p99 * 1000:8.1f} us  ({pn} requests)")
            print(f"  added at p50: {(p50 - d50) * 1000:.1f} us (target < 100 us)")

            api(base, "POST", "/proxies/bench/toxics",
                {"name": "lat", "type": "latency", "attributes": {"latency": 50, "jitter": 10}})
            l50, _, _ = load(through, args.seconds, 4, tmp)
            api(base, "DELETE", "/proxies/bench/toxics/lat")
            added = l50 - p50
            print(f"latency 50 ms +/- 10: p50 added {added:.2f} ms, error {abs(added - 50) / 50 * 100:.1f}% "
                  f"(target within 5%)")

            if args.protocol == "http":
                api(base, "POST", "/proxies/bench/toxics",
                    {"name": "err", "type": "http_error", "toxicity": 0.2,
                     "attributes": {"status": 503}})
                failed, sent = load_failed(through, args.seconds, tmp)
                api(base, "DELETE", "/proxies/bench/toxics/err")
                share = failed / max(sent, 1)
                print(f"http_error on 20% of requests: {failed} of {sent} failed = {share * 100:.2f}%, "
                      f"error {abs(share - 0.2) / 0.2 * 100:.1f}% (target within 5%)")
            else:
                api(base, "POST", "/proxies/bench/toxics",
                    {"name": "cut", "type": "limit_data", "toxicity": 0.2, "attributes": {"bytes": 0}})
                cut = 0
                host, lport = listen.rsplit(":", 1)
                request = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                for _ in range(args.links):
                    with socket.create_connection((host, int(lport))) as s:
                        s.sendall(request)
                        if not s.recv(64):
                            cut += 1
                share = cut / args.links
                print(f"fault on 20% of links: {cut} of {args.links} cut = {share * 100:.2f}%, "
                      f"error {abs(share - 0.2) / 0.2 * 100:.1f}% (target within 5%)")
        finally:
            proxy.terminate()
            proxy.wait()
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
