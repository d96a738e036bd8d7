#!/usr/bin/env bash
# The GPU check of issue 13, in one script to rerun on a machine with an NVIDIA GPU. Packed by
# bench/gpu/pack.sh with onnxruntime-gpu into parts (the machine's uploads are limited in size);
# on the GPU machine, after copying the parts to /tmp/g and `. unpack-and-env` (see
# ../shared/gpu/README.md), run `bash /tmp/g/files/check.sh`. What it checks, each on DEVICE
# (default cuda; DEVICE=cpu runs the same script on any machine, to check the script itself):
#   1. `modelci doctor` lists the CUDA provider;
#   2. the quickstart's classifier golden cases (recorded on the CPU) pass with the default
#      tolerances (TF32 off by default);
#   3. ONNX's backend data (pytorch-converted, pytorch-operator, simple: 140 models with their
#      recorded outputs) agree, on DEVICE and on the CPU, default tolerances (ONNX Runtime 1.31
#      cannot load 40 of them here (opset-6 operators it no longer implements, training
#      operators, the en_US.UTF-8 locale StringNormalizer needs): counted apart);
#   4. ResNet-18 golden cases recorded on the CPU (onnxruntime) pass on DEVICE with the
#      tolerances of [suite.model.tolerance.cuda] (`modelci check`, resnet18/modelci.toml);
#   5. ResNet-18 on 512 images (32 sets of 16): modelci's whole process, its session start-up,
#      first (warm-up) inference and steady state, for cudnn_conv_algo_search exhaustive and
#      heuristic, against PyTorch fp32 (TF32 off, host copies included) when python3 has torch.
# Results: $OUT/gpu-check.txt (OUT defaults to /tmp/gpu-check), JSON reports beside it.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
device="${DEVICE:-cuda}"
out="${OUT:-/tmp/gpu-check}"
mkdir -p "$out"
summary="$out/gpu-check.txt"
: >"$summary"
say() { echo "$*" | tee -a "$summary"; }
modelci="$here/modelci"
chmod +x "$modelci" 2>/dev/null || true
py="${PYTHON:-python3}"

say "== machine: $(nproc) cores; device $device; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
say "== ORT_DYLIB_PATH=${ORT_DYLIB_PATH:-unset}"

# 1. doctor
"$modelci" doctor >"$out/doctor.txt" 2>&1
say "1. doctor: $(grep -i -m1 'provider' "$out/doctor.txt" || echo 'no provider line')"

# 2. quickstart classifier, default tolerances
q="$here/quickstart"
"$modelci" model test --model "$q/classifier.onnx" --cases "$q/golden.json" "$q/golden.npz" \
  --device "$device" --json "$out/quickstart.json" >"$out/quickstart.txt" 2>&1
say "2. quickstart classifier on $device (rc $?): $(grep -m1 -E '[0-9]+ cases:' "$out/quickstart.txt")"

# 3. ONNX backend data, on DEVICE and on the CPU. Models ONNX Runtime itself cannot load (opset 6
# operators it no longer implements, training ops, a missing locale) are counted apart.
for on in "$device" cpu; do
  pass=0 total=0 refused=0 failed=()
  for d in "$here"/onnx-backend/*/*/; do
    [ -f "$d/model.onnx" ] || continue
    total=$((total + 1))
    if timeout 60 "$modelci" model test --model "$d/model.onnx" --cases "$d" --device "$on" \
      >"$out/backend.last" 2>&1; then
      pass=$((pass + 1))
    elif grep -q "cannot load the model" "$out/backend.last"; then
      refused=$((refused + 1))
    else
      failed+=("$(basename "$d")")
      { echo "--- $d ($on)"; tail -n 5 "$out/backend.last"; } >>"$out/backend-failures.txt"
    fi
  done
  say "3. ONNX backend data on $on: $pass/$((total - refused)) agree ($refused of $total refused by ONNX Runtime itself)${failed[*]:+; differ: ${failed[*]}}"
  [ "$on" = "$device" ] && [ "$device" = cpu ] && break
done

# 4. ResNet-18 recorded on the CPU, on DEVICE, with the config's per-device tolerances
r="$here/resnet18"
(cd "$r" && sed "s/@DEVICE@/$device/" modelci.toml.in >modelci.toml &&
  "$modelci" check --config modelci.toml --json "$out/resnet18-golden.json" >"$out/resnet18-golden.txt" 2>&1)
say "4. ResNet-18 CPU-recorded golden on $device (rc $?): $(grep -m1 -E '[0-9]+ cases' "$out/resnet18-golden.txt")"

# 5. ResNet-18, 512 images: modelci against PyTorch
inputs="$out/resnet-timing"
if [ ! -d "$inputs/test_data_set_31" ]; then
  "$py" "$here/write_inputs.py" "$inputs" 32 16 224 images >/dev/null
fi
prop() { "$py" -c 'import json,sys; p=json.load(open(sys.argv[1]))["suites"][0]["properties"]; print(p.get(sys.argv[2], "-"))' "$1" "$2"; }
for search in exhaustive heuristic; do
  best=""
  for _ in 1 2 3; do
    s=$(date +%s.%N)
    "$modelci" model test --model "$r/model.onnx" --cases "$inputs" --device "$device" \
      --cudnn-conv-algo-search "$search" --json "$out/timing-$search.json" >"$out/timing.txt" 2>&1 \
      || { say "5. modelci ($search) failed: $(tail -n 3 "$out/timing.txt")"; break; }
    e=$(date +%s.%N)
    best=$(awk -v s="$s" -v e="$e" -v b="$best" 'BEGIN { t = e - s; if (b != "" && b < t) t = b; printf "%.3f", t }')
  done
  j="$out/timing-$search.json"
  [ -f "$j" ] || continue
  steady=$(prop "$j" steady_inference_ms) n=$(prop "$j" inferences)
  say "5. modelci ResNet-18 512 images on $device, conv search $search: whole process $best s (best of 3);" \
    "session start $(prop "$j" session_start_ms) ms, first inference $(prop "$j" first_inference_ms) ms," \
    "steady $steady ms x $n inferences = $(awk -v a="$steady" -v n="$n" 'BEGIN { printf "%.3f", a * n / 1000 }') s;" \
    "cudnn $(prop "$j" cudnn), cuda $(prop "$j" cuda_runtime), cublas $(prop "$j" cublas)"
done
if [ "$device" = cuda ] && "$py" -c "import torch; assert torch.cuda.is_available()" 2>/dev/null; then
  "$py" "$here/torch_resnet18.py" 32 16 >"$out/torch.txt" 2>&1
  say "5. PyTorch: $(tr '\n' ';' <"$out/torch.txt")"
else
  say "5. PyTorch baseline skipped (device $device, or no torch with CUDA in $py)"
fi
say "== done"
