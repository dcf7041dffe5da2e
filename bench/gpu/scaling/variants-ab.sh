#!/bin/bash
# Builds or settings of gpupool alternated on the GPU host (issue 7's MLP):
#  1. the host side without a GPU: ITEMS {"seed":N} lines through `gpupool run` with WORKERS CPU
#     workers that answer at once, from a file (FROM="file stdin" adds stdin); items/s, peak RSS
#     and per-thread CPU, PAIRS rounds of every variant;
#  2. the MLP at N = 1 with three workers per card (driver.py --bracket: a direct loop before and
#     after gpupool, the limit their mean), GPU_ROUNDS rounds of every variant.
# Each VARIANT is LABEL=CLI or LABEL=CLI:VAR=VALUE,VAR=VALUE (environment for gpupool), e.g.
#   base=base/gpupool.mjs  head=gpupool.mjs  writer-on=gpupool.mjs:GPUPOOL_WRITER_THREAD=on
# Another build's CLI: its bundle's gpupool.mjs, copied with its *-thread.js, sdk/ and
# package.json into a folder of this bundle (base/, so that node_modules is found one folder up).
# Usage (from the bundle): source .gpu-host/env.sh && cd .gpu-host/app &&
#   bash bench/gpu/scaling/variants-ab.sh OUT_DIR ITEMS WORKERS PAIRS GPU_ROUNDS VARIANT...
set -u
out=$1; items=$2; workers=$3; pairs=$4; gpu_rounds=$5; shift 5
here=$(cd "$(dirname "$0")" && pwd)
declare -A cli envs
labels=()
for v in "$@"; do
  label=${v%%=*}; rest=${v#*=}; path=${rest%%:*}; env=""
  [ "$rest" != "$path" ] && env=${rest#*:}
  [ -f "$path" ] || { echo "variants-ab.sh: $label: CLI '$path' is not a file" >&2; exit 2; }
  cli[$label]=$(realpath "$path"); envs[$label]=${env//,/ }; labels+=("$label")
done
work=$(mktemp -d)
source "$here/host-side-lib.sh"
host_side_setup "$work" "$workers" "$items" "$out"
for label in "${labels[@]}"; do echo "$label: ${cli[$label]} ${envs[$label]}" >> "$out/cpu-only/host.txt"; done
for pair in $(seq 1 "$pairs"); do
  for label in "${labels[@]}"; do
    for from in ${FROM:-file}; do
      line=$(env ${envs[$label]} bash -c "source '$here/host-side-lib.sh'; host_side_run '$out/cpu-only/$label-$from-$pair' '${cli[$label]}' $from '$work'")
      echo "$label $from $pair: $line" | tee -a "$out/cpu-only/log.txt"
    done
  done
done
for round in $(seq 1 "$gpu_rounds"); do
  for label in "${labels[@]}"; do
    env ${envs[$label]} SCALING_GPUPOOL_WORKERS_PER_DEVICE=3 python3 "$here/driver.py" --out "$out/mlp-$label-$round" --cli "${cli[$label]}" --ns 1 --workloads mlp --methods direct,gpupool --bracket --budget 90 > "$out/mlp-$label-$round.log" 2>&1
    grep -E "mlp (direct|direct_after|gpupool) N=1:|gpupool / direct loop" "$out/mlp-$label-$round.log" "$out/mlp-$label-$round/scaling-report.md" 2>/dev/null | sed "s/^/$label $round: /" | tee -a "$out/mlp-log.txt"
  done
done
rm -rf "$work"
