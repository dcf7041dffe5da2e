#!/bin/bash
# Scaling benchmark (issue 7): direct loop, scheme 1 (shards), scheme 2 (multiprocessing queue)
# and `gpupool run`, on N = 1, 2, 4 cards, for ResNet-50, a skewed-length encoder and an MLP.
# From the bundle folder on the GPU host (about 8 minutes with --budget 480):
#   bash bench/gpu/scaling/run.sh            # or --ns 1,8 --budget 500 on an 8-card host
# CPU smoke test (tiny models, N cards played by N processes):
#   bash bench/gpu/scaling/run.sh --smoke --ns 1,2 --direct-s 1 --work-s 1.5
# Writes $OUT/scaling-results.json, scaling-report.md, scaling.png and scaling-progress.log.
set -u
OUT=${OUT:-/tmp/scaling-out}; mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
python3 "$here/driver.py" --out "$OUT" "$@" 2>&1 | tee "$OUT/scaling-progress.log"
exit "${PIPESTATUS[0]}"
