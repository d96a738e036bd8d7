#!/usr/bin/env bash
# Benchmark: 10,000 golden cases of a small MLP (fixtures/models/mlp.onnx) and of a tree-ensemble
# classifier (fixtures/models/trees.onnx), each checked three ways on the same machine:
#   - modelci:      `modelci model test --per-row` on one stacked .npz (one case per row), JSON
#                   report written;
#   - python loop:  bench/model/python_loop.py, as teams write it today: one onnxruntime session,
#                   one sess.run and one numpy.allclose per case;
#   - raw batched:  bench/model/raw_batched.py, one sess.run on all rows and one vectorised
#                   comparison: the lower bound.
# Every way must pass all N cases (the script fails otherwise). Wall clock end to end, as a
# process, best of 3 runs; for the two Python ways also the in-process part (session creation and
# the loop or call, after interpreter start, imports and the .npz read), which they print.
# Targets (issue): modelci >= 10x faster than the Python loop and <= 1.5x the raw batched call.
# The Python ways run on the interpreter itself (sys.executable), not through a launcher such
# as a pyenv shim, which adds ~50 ms to each start. The row "modelci, ORT_DYLIB_PATH set" is
# modelci told where ONNX Runtime is, so that it does not look for the onnxruntime Python
# package (which starts python3).
# The Python ways run in the tests' virtual environment (scripts/python-env: numpy and onnxruntime
# pinned, in target/python; the system's and the user's Python are not changed).
# Usage: bench/model-golden.sh [N]   (default N = 10,000; MODELCI=PATH times that modelci
# executable instead of building target/release/modelci)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-10000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

venv="$(scripts/python-env)"
py=$("$venv/bin/python3" -c "import sys; print(sys.executable)")
if [ -n "${MODELCI:-}" ]; then
  modelci="$MODELCI"
else
  cargo build -q --release --locked -p modelci
  modelci=target/release/modelci
fi
ort_lib=$("$py" -c "import glob, os, onnxruntime as m; print(sorted(glob.glob(os.path.join(os.path.dirname(m.__file__), 'capi', 'libonnxruntime.so*')))[0])")
echo "machine: $(nproc) cores; python $("$py" -c 'import sys; print(sys.version.split()[0])'), onnxruntime $("$py" -c 'import onnxruntime; print(onnxruntime.__version__)') ($ort_lib)"

# best OUT CMD...: runs CMD 3 times, its output in OUT; prints "<best wall seconds> <exit code of
# the last run> <best in-process seconds, or - when CMD prints no `in-process: X s` line>".
best() {
  local out="$1" best="" inproc="-" code=0 s e t
  shift
  for _ in 1 2 3; do
    s=$(date +%s.%N); set +e; "$@" >"$out" 2>&1; code=$?; set -e; e=$(date +%s.%N)
    best=$(awk -v s="$s" -v e="$e" -v b="$best" 'BEGIN { t = e - s; if (b != "" && b < t) t = b; printf "%.4f", t }')
    t=$(sed -n 's/^in-process: \([0-9.]*\) s$/\1/p' "$out")
    [ -n "$t" ] && inproc=$(awk -v t="$t" -v b="$inproc" 'BEGIN { if (b != "-" && b < t) t = b; printf "%.4f", t }')
  done
  echo "$best $code $inproc"
}

status=0
: >"$work/results.tsv"
for model in mlp trees; do
  onnx="fixtures/models/$model.onnx"
  cases="$work/$model.npz"
  seed=$([ "$model" = mlp ] && echo 1 || echo 2)
  "$py" bench/model/make_cases.py "$onnx" "$cases" "$n" "$seed"

  # modelci: one checked run first, whose JSON report must say N passed.
  set +e
  "$modelci" model test --model "$onnx" --cases "$cases" --per-row --json "$work/report.json" >"$work/modelci.out" 2>&1
  code=$?
  set -e
  summary=$(python3 -c "import json, sys; s = json.load(open(sys.argv[1]))['summary']; print(s['passed'], s['failed'], s['errored'], s['total'])" "$work/report.json" 2>/dev/null || echo "no report")
  rm -f "$work/report.json"
  if [ "$code" = 0 ] && [ "$summary" = "$n 0 0 $n" ]; then
    read -r t _ _ < <(best "$work/modelci.out" "$modelci" model test --model "$onnx" --cases "$cases" --per-row --json "$work/report.json")
    printf '%s\tmodelci\t%s\t-\n' "$model" "$t" >>"$work/results.tsv"
    read -r t _ _ < <(best "$work/modelci.out" env ORT_DYLIB_PATH="$ort_lib" "$modelci" model test --model "$onnx" --cases "$cases" --per-row --json "$work/report.json")
    printf '%s\tmodelci, ORT_DYLIB_PATH set\t%s\t-\n' "$model" "$t" >>"$work/results.tsv"
  else
    echo "$model: modelci FAILED (exit $code; report summary passed/failed/errored/total: $summary; expected $n passed):"
    tail -5 "$work/modelci.out" | sed 's/^/  /'
    status=1
  fi

  for way in python_loop raw_batched; do
    read -r t code inproc < <(best "$work/$way.out" "$py" "bench/model/$way.py" "$onnx" "$cases")
    if [ "$code" != 0 ] || ! grep -q "$n cases, $n passed, 0 failed" "$work/$way.out"; then
      echo "$model: $way FAILED (exit $code):"
      sed 's/^/  /' "$work/$way.out"
      status=1
    fi
    printf '%s\t%s\t%s\t%s\n' "$model" "${way/_/ }" "$t" "$inproc" >>"$work/results.tsv"
  done
done

python3 - "$work/results.tsv" "$n" <<'EOF'
import sys

rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
print(f"\n{int(sys.argv[2]):,} golden cases per model, best of 3 wall-clock runs")
print(f"{'model':<7} {'way':<30} {'end to end':>11} {'in-process':>11} {'vs modelci':>11}")
for model in dict.fromkeys(r[0] for r in rows):
    mine = {r[1]: (float(r[2]), r[3]) for r in rows if r[0] == model}
    base = mine.get("modelci", (None,))[0]
    for way, (t, inproc) in mine.items():
        ratio = f"{t / base:.2f}x" if base else "n/a"
        inproc = f"{float(inproc):.3f} s" if inproc != "-" else "-"
        print(f"{model:<7} {way:<30} {t:>9.3f} s {inproc:>11} {ratio:>11}")
    if base:
        loop, raw = mine["python loop"][0], mine["raw batched"][0]
        print(
            f"{model}: modelci is {loop / base:.1f}x faster than the Python loop (target >= 10x: "
            f"{'met' if loop / base >= 10 else 'missed'}) and {base / raw:.2f}x the raw batched call "
            f"(target <= 1.5x: {'met' if base / raw <= 1.5 else 'missed'})"
        )
EOF
exit "$status"
