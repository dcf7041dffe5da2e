#!/bin/bash
# Where gpupool's Node process spends its time on the GPU host, for the dispatch-bound MLP (issue 7):
#  1. the MLP's host side without a GPU: 20M items {"seed":N} from gen_items.py through `gpupool run`
#     with three CPU workers answering at once (argmax of nothing), per-thread CPU of Node and a
#     --cpu-prof of its main thread;
#  2. the MLP itself at N = 1, three workers per card (driver.py), with `node` on PATH replaced
#     by a shim adding --cpu-prof, so the same profile comes from the real run.
# Usage (from the bundle): source .gpu-host/env.sh && cd .gpu-host/app && bash bench/gpu/scaling/node-profile.sh OUT_DIR
set -u
out=$1; mkdir -p "$out/cpu-only" "$out/gpu"
here=$(cd "$(dirname "$0")" && pwd); app=$(cd "$here/../../.." && pwd)
work=$(mktemp -d)
source "$here/host-side-lib.sh"
cpu_mlp_config "$work" 3
python3 "$here/gen_items.py" mlp 0 20000000 | node --cpu-prof --cpu-prof-dir="$out/cpu-only" "$app/gpupool.mjs" run -c "$work/mlp-cpu.yaml" -i - -o "$work/out.jsonl" --fresh --progress plain --state-dir "$work/state" > "$out/cpu-only/stdout.txt" 2> "$out/cpu-only/stderr.txt" &
sleep 0.5
sample_threads "$(pgrep -n -f "gpupool.mjs run -c $work/mlp-cpu.yaml")" "$out/cpu-only/threads.txt"
wait
mkdir -p "$work/shim"
printf '#!/bin/bash\nexec %s --cpu-prof --cpu-prof-dir=%s "$@"\n' "$(command -v node)" "$out/gpu" > "$work/shim/node"
chmod +x "$work/shim/node"
SCALING_GPUPOOL_WORKERS_PER_DEVICE=3 PATH="$work/shim:$PATH" python3 "$here/driver.py" --out "$out/gpu/run" --ns 1 --workloads mlp --methods direct,gpupool --budget 60 > "$out/gpu/driver-log.txt" 2>&1
rm -rf "$work"
