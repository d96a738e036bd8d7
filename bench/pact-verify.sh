#!/usr/bin/env bash
# Benchmark: verify a pact of 1,000 interactions against a local provider, with modelci and with
# the baseline, pact_verifier_cli (the Pact Foundation's Rust verifier), on the same pact and the
# same provider; prints both wall times, both verdicts and the ratio. Target: modelci >= 5x faster
# with identical verdicts.
#
# The provider is `modelci contract mock` serving the same pact: a real HTTP server on
# 127.0.0.1 that answers each request in microseconds, so the verifiers' own costs dominate.
# Installs pact_verifier_cli with `cargo install --locked pact_verifier_cli` into
# target/bench-tools when it is not on PATH (a few minutes, once).
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
work="$(mktemp -d)"
mock_pid=""
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cargo build -q --release --locked -p modelci
modelci=target/release/modelci
# The pact_verifier_cli crate installs an executable named `pact-verifier`.
verifier="${PACT_VERIFIER:-$(command -v pact-verifier || true)}"
if [ -z "$verifier" ]; then
  verifier=target/bench-tools/bin/pact-verifier
  [ -x "$verifier" ] || cargo install -q --locked pact_verifier_cli --root target/bench-tools
fi
echo "baseline: $("$verifier" --version 2>&1 | head -1)"

python3 bench/pact/generate.py "$work/pact.json" "$n"
python3 bench/pact/generate.py "$work/broken.json" "$n" --broken 10

"$modelci" contract mock --pact "$work/pact.json" --port 0 > "$work/mock.out" 2>&1 &
mock_pid=$!
for _ in $(seq 100); do grep -q listening "$work/mock.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$work/mock.out" | head -1)
port=${url##*:}
echo "provider: modelci contract mock at $url ($n interactions)"

best() { # prints "<best wall time of 3 runs in seconds> <exit code of the last run>"
  local best="" s e code=0
  for _ in 1 2 3; do
    s=$(date +%s.%N); set +e; "$@" >/dev/null 2>&1; code=$?; set -e; e=$(date +%s.%N)
    best=$(python3 -c "t=$e-$s; b='$best'; print(t if not b else min(t, float(b)))")
  done
  echo "$best $code"
}
verdict() { if [ "$1" = 0 ]; then echo pass; else echo "fail (exit $1)"; fi; }

for pact in pact broken; do
  read -r m mc < <(best "$modelci" contract verify --pact "$work/$pact.json" --provider-url "$url")
  read -r b bc < <(best "$verifier" --file "$work/$pact.json" --hostname 127.0.0.1 --port "$port" --no-colour)
  printf '%s: modelci %s in %.3f s; pact_verifier_cli %s in %.3f s\n' "$pact.json" "$(verdict "$mc")" "$m" "$(verdict "$bc")" "$b"
  python3 -c "print(f'  ratio (modelci / pact_verifier_cli): {$m/$b:.3f}  speed-up: {$b/$m:.1f}x')"
  read -r m1 _ < <(best "$modelci" contract verify --pact "$work/$pact.json" --provider-url "$url" --concurrency 1)
  python3 -c "print(f'  modelci --concurrency 1 (sequential, like the baseline): {$m1:.3f} s, speed-up {$b/$m1:.1f}x')"
  if { [ "$mc" = 0 ] && [ "$bc" != 0 ]; } || { [ "$mc" != 0 ] && [ "$bc" = 0 ]; }; then
    echo "  VERDICTS DIFFER"; exit 1
  fi
done
