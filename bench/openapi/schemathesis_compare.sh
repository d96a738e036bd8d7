#!/usr/bin/env bash
# Side by side: Schemathesis (`st run`) and `modelci contract test` against the same service
# with twelve planted contract bugs (fixtures/provider/planted_service.py, contract
# fixtures/openapi/planted.openapi.yaml; the bugs P1..P12 are listed in the service's
# docstring). Measures each tool's wall time, counts the requests it sent (as the service saw
# them, and as the tool reports them), and attributes each tool's findings to P1..P12 with
# bench/openapi/schemathesis_compare.py, which also lists the findings that match no planted
# bug. Each tool gets a fresh instance of the service (its item store starts empty).
#
# Usage: bench/openapi/schemathesis_compare.sh [N] [--schemathesis-only]
#   N             test cases per operation: st --max-examples N, modelci --max-cases N
#                 (default 200)
#   --schemathesis-only   skip modelci (also skipped, with a message, when its binary is
#                 missing; this script never builds it)
# Environment:
#   MODELCI=path          the modelci binary (default target/release/modelci)
#   OUT=dir               where both outputs go (default /tmp/schemathesis-compare)
#   SCHEMATHESIS_VERSION  pip pin (default 4.32.5, what `schemathesis==4.*` resolved to on
#                         2026-12-05); the venv is ${TMPDIR:-/tmp}/modelci-schemathesis, made
#                         once and reused
#   ST_WORKERS            st --workers (default 1, so that a seed gives one run; modelci runs
#                         with its default concurrency of 8)
#   SEED                  seed of both tools (default 1)
# Needs network access the first time (pip). The exit status is 0 when both tools ran, whatever
# they found.
set -euo pipefail
cd "$(dirname "$0")/../.."

n=200
only_st=0
for arg in "$@"; do
  case "$arg" in
    --schemathesis-only) only_st=1 ;;
    ''|*[!0-9]*) echo "usage: $0 [N] [--schemathesis-only]" >&2; exit 2 ;;
    *) n="$arg" ;;
  esac
done
out="${OUT:-/tmp/schemathesis-compare}"
venv="${TMPDIR:-/tmp}/modelci-schemathesis"
version="${SCHEMATHESIS_VERSION:-4.32.5}"
seed="${SEED:-1}"
modelci="${MODELCI:-target/release/modelci}"
spec=fixtures/openapi/planted.openapi.yaml

if [ ! -x "$venv/bin/st" ]; then
  echo "installing schemathesis==$version into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$version"
fi
st_version="$("$venv/bin/st" --version | awk '{print $NF}')"

mkdir -p "$out"
rm -rf "$out/schemathesis-report" "$out"/schemathesis.* "$out"/modelci.*
mkdir -p "$out/schemathesis-report"
root="$(pwd)"

pid=""
stop_service() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=""
  fi
}
trap stop_service EXIT

# start_service NAME: a fresh service logging to $out/NAME.log; sets $port and $pid.
start_service() {
  : > "$out/$1.log"
  PLANTED_TRIGGER_LOG="$out/$1.log" python3 fixtures/provider/planted_service.py 0 \
    > "$out/$1.service.txt" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 100); do
    port="$(sed -n '1s|^listening on http://127.0.0.1:\([0-9]*\)$|\1|p' "$out/$1.service.txt")"
    [ -n "$port" ] && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "the planted service did not start:" >&2
  cat "$out/$1.service.txt" >&2
  exit 1
}

now() { date +%s.%N; }
elapsed() {
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"
}

# Schemathesis: every phase (examples, coverage, fuzzing, stateful through the links), every
# check, no example database (each run starts cold), fixed seed. Run from $out so that
# nothing (.hypothesis/, reports) lands in the repository.
start_service schemathesis
st_cmd=("$venv/bin/st" run "$root/$spec" --url "http://127.0.0.1:$port"
  --max-examples "$n" --continue-on-failure --checks all
  --phases examples,coverage,fuzzing,stateful --seed "$seed" --workers "${ST_WORKERS:-1}"
  --generation-database none --no-color
  --report json,ndjson --report-dir "$out/schemathesis-report")
echo "Schemathesis $st_version: ${st_cmd[*]}" | sed "s|$venv/bin/||; s|$root/||" >&2
t0="$(now)"
set +e
(cd "$out" && "${st_cmd[@]}") > "$out/schemathesis.txt" 2>&1
st_rc=$?
set -e
t1="$(now)"
elapsed "$t0" "$t1" > "$out/schemathesis.seconds"
stop_service
echo "  exit $st_rc, $(cat "$out/schemathesis.seconds") s, output $out/schemathesis.txt" >&2

if [ "$only_st" = 1 ]; then
  echo "modelci skipped (--schemathesis-only)" >&2
elif [ ! -x "$modelci" ]; then
  echo "modelci skipped: $modelci is missing (build it, or set MODELCI=path)" >&2
else
  start_service modelci
  mc_cmd=("$modelci" contract test --openapi "$spec" --base-url "http://127.0.0.1:$port"
    --max-cases "$n" --seed "$seed" --color never --json "$out/modelci.json")
  echo "modelci: ${mc_cmd[*]}" >&2
  t0="$(now)"
  set +e
  "${mc_cmd[@]}" > "$out/modelci.txt" 2>&1
  mc_rc=$?
  set -e
  t1="$(now)"
  elapsed "$t0" "$t1" > "$out/modelci.seconds"
  stop_service
  echo "  exit $mc_rc, $(cat "$out/modelci.seconds") s, output $out/modelci.txt" >&2
fi

echo "N=$n seed=$seed; outputs in $out"
python3 bench/openapi/schemathesis_compare.py "$out"
