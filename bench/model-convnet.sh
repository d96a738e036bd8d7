#!/usr/bin/env bash
# Benchmark (issue 13): models that do real work, in ONNX's test-data layout, three ways on the
# same machine:
#   - modelci:      `modelci model test --cases DIR` (JSON report written), whole process;
#   - python loop:  bench/model/python_loop_sets.py, as teams write it: one onnxruntime session,
#                   per set read input_0.pb/output_0.pb, run, numpy.allclose; whole process;
#   - compute:      ONNX Runtime's compute alone (the same session.run calls, inputs already in
#                   memory, timed inside the Python process): the floor.
# Models (bench/model/make_convnet.py, random weights, built with the `onnx` package):
#   convnet   3 Conv+Relu layers on 3x96x96 images, 48 sets of 16 images;
#   resnet18  ResNet-18 on 3x224x224 images, RESNET_SETS sets of 16 (default 8; 32 on a big
#             machine).
# Wall clock, best of 3 runs. Targets: modelci <= 1.3x compute + 0.1 s and <= 0.6x the Python
# loop. The Python side runs in a virtual environment in target/bench-python (numpy, onnx,
# onnxruntime pinned; the system's and the user's Python are not changed), modelci on the
# library scripts/onnxruntime unpacks (the same ONNX Runtime version).
# Usage: bench/model-convnet.sh [convnet|resnet18]...  (default both; MODELCI=PATH times that
# executable instead of building target/release/modelci)
set -euo pipefail
cd "$(dirname "$0")/.."
kinds=("$@")
[ ${#kinds[@]} -gt 0 ] || kinds=(convnet resnet18)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

venv="${CARGO_TARGET_DIR:-target}/bench-python"
if ! "$venv/bin/python3" -c "import numpy, onnx, onnxruntime" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python3" -m pip install -q numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0
fi
py="$venv/bin/python3"
ORT_DYLIB_PATH="$(scripts/onnxruntime)"
export ORT_DYLIB_PATH
if [ -n "${MODELCI:-}" ]; then
  modelci="$MODELCI"
else
  cargo build -q --release --locked -p modelci
  modelci=target/release/modelci
fi
echo "machine: $(nproc) cores; onnxruntime $("$py" -c 'import onnxruntime; print(onnxruntime.__version__)')"

# best OUT CMD...: best wall seconds of 3 runs (CMD's output of the last run in OUT) and the best
# `compute: X s` it printed, or -.
best() {
  local out="$1" best="" compute="-" s e t
  shift
  for _ in 1 2 3; do
    s=$(date +%s.%N); "$@" >"$out" 2>&1 || { cat "$out"; return 1; }; e=$(date +%s.%N)
    best=$(awk -v s="$s" -v e="$e" -v b="$best" 'BEGIN { t = e - s; if (b != "" && b < t) t = b; printf "%.3f", t }')
    t=$(sed -n 's/^compute: \([0-9.]*\) s$/\1/p' "$out")
    [ -n "$t" ] && compute=$(awk -v t="$t" -v b="$compute" 'BEGIN { if (b != "-" && b < t) t = b; printf "%.3f", t }')
  done
  echo "$best $compute"
}

printf '%-9s %-14s %10s %12s %10s %14s %16s\n' model sets modelci "python loop" compute "vs loop (0.6)" "vs compute+0.1 (1.3)"
for kind in "${kinds[@]}"; do
  case "$kind" in
    convnet) sets=48 ;;
    resnet18) sets="${RESNET_SETS:-8}" ;;
    *) echo "unknown model $kind" >&2; exit 2 ;;
  esac
  "$py" bench/model/make_convnet.py "$kind" "$work/$kind" "$sets" 16 >/dev/null
  read -r m _ < <(best "$work/m.out" "$modelci" model test --model "$work/$kind/model.onnx" --cases "$work/$kind/cases" --json "$work/r.json")
  grep -q "$sets passed, 0 failed" "$work/m.out" || { echo "$kind: modelci did not pass every set:"; cat "$work/m.out"; exit 1; }
  read -r l c < <(best "$work/p.out" "$py" bench/model/python_loop_sets.py "$work/$kind/model.onnx" "$work/$kind/cases")
  grep -q "$sets passed, 0 failed" "$work/p.out" || { echo "$kind: the Python loop did not pass every set:"; cat "$work/p.out"; exit 1; }
  awk -v k="$kind" -v n="$sets x 16" -v m="$m" -v l="$l" -v c="$c" 'BEGIN {
    printf "%-9s %-14s %8.3f s %10.3f s %8.3f s %13.2fx %15.2fx\n", k, n, m, l, c, m / l, m / (c + 0.1) }'
  rm -rf "${work:?}/$kind"
done
