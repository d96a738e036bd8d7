#!/usr/bin/env bash
# Benchmark: `modelci check` on a 200,000-line JSON Lines log (one case per line, JUnit and
# JSON reports written) against the baseline, a Python loop over the `jsonschema` package.
# Needs python3; the baseline runs in a virtual environment with `jsonschema` in
# target/bench-python (made when missing; the system's and the user's Python are not changed).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200000}"
data="$(mktemp -d)"
trap 'rm -rf "$data"' EXIT
python3 bench/json-schema/generate.py "$data" "$n"
venv="${CARGO_TARGET_DIR:-target}/bench-python"
if ! "$venv/bin/python3" -c "import jsonschema" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python3" -m pip install -q jsonschema
fi
cargo build -q --release --locked -p modelci

best() { # best wall time of 3 runs, in seconds
  local best=""
  for _ in 1 2 3; do
    local s e
    s=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s.%N)
    best=$(python3 -c "t=$e-$s; b='$best'; print(t if not b else min(t, float(b)))")
  done
  echo "$best"
}
m=$(best target/release/modelci check --config "$data/modelci.toml" --junit "$data/j.xml" --json "$data/r.json")
b=$(best "$venv/bin/python3" bench/json-schema/baseline.py "$data")
target/release/modelci check --config "$data/modelci.toml" | tail -2 || true
"$venv/bin/python3" bench/json-schema/baseline.py "$data"
python3 -c "print(f'modelci check: {$m:.2f} s   python jsonschema loop: {$b:.2f} s   ratio (modelci / baseline): {$m/$b:.3f}')"
