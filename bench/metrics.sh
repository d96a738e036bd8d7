#!/usr/bin/env bash
# Benchmark: modelci-metrics against the targets of its issue, on this machine:
#   - every classifier and fairness metric over 1,000,000 rows (binary with probabilities,
#     4-class with probabilities and per-class one-vs-rest AUCs, fairness over 6 groups with
#     per-group classifier metrics): under 1 s in all;
#   - a paired bootstrap of 1,000 resamples over 100,000 rows (accuracy delta): under 5 s on
#     2 cores.
# Also prints, without a target: the regressor metrics, a fairness bootstrap and an F1 paired
# bootstrap. Best of 3 runs each (1 for the fairness bootstrap); data are generated in process
# from a fixed seed. Arguments (optional): rows, bootstrap rows, resamples.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q --locked -p modelci-metrics --bench metrics -- "$@"
