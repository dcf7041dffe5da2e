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
cpu_mlp_config "$work" "$workers"
mkdir -p "$out/cpu-only"
python3 "$here/gen_items.py" mlp 0 "$items" > "$work/items.jsonl"
echo "cpus $(nproc); $(grep -m1 'model name' /proc/cpuinfo); items $items; workers $workers" > "$out/cpu-only/host.txt"
for pair in $(seq 1 "$pairs"); do
  for mode in off on; do
    for from in file stdin; do
      name="$out/cpu-only/$mode-$from-$pair"
      input="$work/items.jsonl"; [ "$from" = stdin ] && input=-
      rm -rf "$work/state" "$work/out.jsonl"
      GPUPOOL_READER_THREAD=$mode node "$app/gpupool.mjs" run -c "$work/mlp-cpu.yaml" -i "$input" -o "$work/out.jsonl" --fresh --progress none --json --state-dir "$work/state" < "$work/items.jsonl" > "$name.json" 2> "$name.stderr.txt" &
      sleep 0.3
      sample_threads "$(pgrep -n -f "gpupool.mjs run -c $work/mlp-cpu.yaml")" "$name.threads.txt"
      wait
      echo "$mode $from $pair: lines $(wc -l < "$work/out.jsonl"); $(head -c 160 "$name.json")" | tee -a "$out/cpu-only/log.txt"
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
