#!/usr/bin/env bash
# Packs the GPU check (bench/gpu/check.sh) with onnxruntime-gpu into parts of at most 50 MiB for
# a GPU machine whose uploads are limited in size (../shared/gpu/pack-parts does the splitting).
# Run here, on the build machine:
#     bench/gpu/pack.sh OUTDIR        (OUTDIR must be ignored by git, e.g. listed in
#                                      .git/info/exclude, so the device tool does not copy it
#                                      with the working tree)
# then copy OUTDIR/p0..pN to the GPU machine's /tmp/g one per transfer, `. unpack-and-env` there
# and run `bash /tmp/g/files/check.sh`.
# Files packed: a stripped release modelci; the quickstart classifier and its golden cases;
# ONNX's backend data (pytorch-converted, pytorch-operator, simple) from the `onnx` package of
# the benchmark environment; ResNet-18 (bench/model/make_convnet.py) with 8 sets of 4 images
# recorded by onnxruntime on the CPU; the check's scripts.
# Needs: the Rust toolchain, python3, pip access to PyPI; SHARED_GPU (default ../shared/gpu).
set -euo pipefail
out="${1:?usage: bench/gpu/pack.sh OUTDIR}"
out="$(mkdir -p "$out" && cd "$out" && pwd)"
cd "$(dirname "$0")/../.."
shared="${SHARED_GPU:-../shared/gpu}"
[ -x "$shared/pack-parts" ] || { echo "pack.sh: no $shared/pack-parts" >&2; exit 2; }

venv="${CARGO_TARGET_DIR:-target}/bench-python"
if ! "$venv/bin/python3" -c "import numpy, onnx, onnxruntime" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/python3" -m pip install -q numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0
fi
py="$venv/bin/python3"

cargo build -q --release --locked -p modelci
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
strip -o "$stage/modelci" "${CARGO_TARGET_DIR:-target}/release/modelci"
mkdir -p "$stage/quickstart" "$stage/onnx-backend" "$stage/resnet18"
cp examples/quickstart/model/classifier.onnx examples/quickstart/model/golden.json \
  examples/quickstart/model/golden.npz "$stage/quickstart/"
data="$("$py" -c 'import onnx, os; print(os.path.join(os.path.dirname(onnx.__file__), "backend/test/data"))')"
for kind in pytorch-converted pytorch-operator simple; do cp -r "$data/$kind" "$stage/onnx-backend/"; done
"$py" bench/model/make_convnet.py resnet18 "$stage/resnet18" 8 4 >/dev/null
cp bench/gpu/resnet18.toml.in "$stage/resnet18/modelci.toml.in"
cp bench/gpu/check.sh bench/gpu/write_inputs.py bench/gpu/torch_resnet18.py "$stage/"
"$shared/pack-parts" "$out" "$stage"/*
