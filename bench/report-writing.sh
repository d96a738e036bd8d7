#!/usr/bin/env bash
# Benchmark: writing every report (JUnit, JSON, job summary, annotations) for 100,000 cases.
# Target (issue 2): < 1 s and < 200 MB peak memory on the 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -q -p modelci-report --bench write_reports
