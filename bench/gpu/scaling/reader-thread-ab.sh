#!/bin/bash
# gpupool's JSONL reader thread off and on, alternated, on the GPU host (issue 7's MLP):
#  1. the host side without a GPU: ITEMS {"seed":N} lines through `gpupool run` with WORKERS CPU
#     workers that answer at once, from a file and from stdin; items/s, peak RSS and per-thread CPU;
#  2. the MLP at N = 1 with three workers per card (driver.py), direct loop and gpupool.
# Usage (from the bundle): source .gpu-host/env.sh && cd .gpu-host/app &&
#   bash bench/gpu/scaling/reader-thread-ab.sh OUT_DIR [ITEMS=20000000] [WORKERS=6] [PAIRS=2] [GPU_PAIRS=2]
set -u
out=$1; items=${2:-20000000}; workers=${3:-6}; pairs=${4:-2}; gpu_pairs=${5:-2}
here=$(cd "$(dirname "$0")" && pwd); app=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
source "$here/host-side-lib.sh"
host_side_setup "$work" "$workers" "$items" "$out"
for pair in $(seq 1 "$pairs"); do
  for mode in off on; do
    for from in file stdin; do
      line=$(GPUPOOL_READER_THREAD=$mode host_side_run "$out/cpu-only/$mode-$from-$pair" "$app/gpupool.mjs" "$from" "$work")
      echo "$mode $from $pair: $line" | tee -a "$out/cpu-only/log.txt"
    done
  done
done
for pair in $(seq 1 "$gpu_pairs"); do
  for mode in off on; do
    GPUPOOL_READER_THREAD=$mode SCALING_GPUPOOL_WORKERS_PER_DEVICE=3 python3 "$here/driver.py" --out "$out/mlp-$mode-$pair" --ns 1 --workloads mlp --methods direct,gpupool --budget 60 > "$out/mlp-$mode-$pair.log" 2>&1
    grep -E "mlp (direct|gpupool) N=1:" "$out/mlp-$mode-$pair.log" | sed "s/^/$mode $pair: /" | tee -a "$out/mlp-log.txt"
  done
done
rm -rf "$work"
