#!/bin/bash
# Several workers of a model sharing one simulated device, on the CPU (the acceptance tester's
# scenario for issue #2): shared_memory_worker.py, a device of CAPACITY units (100) shared by the
# worker processes through files, items of ITEM (10), and one page of HEAVY (60) every EVERY
# items (500; 0: none), batch.max MAX (8). Two workers fit 5 each; a page of 60 fits only beside
# a small cache of the other's. CAPACITY=94 ITEM=1 MAX=4096 EVERY=0 is the GPU host's oom-shared
# (24 GiB left, 256 MiB an item) in miniature.
#
#   bash bench/shared-card/run.sh [RUNS] [ITEMS]     (env as above, W=workers, GPUPOOL=cli)
#
# Prints one line a run: each worker's final limit, the mean batch (the device's items over the
# batches its workers answered; summaries before 2026-12-07 lack it), out-of-memory batches (as
# the workers' logs say), wall time. Needs `npm run build` first.
#
# ALLOCATOR=caching runs caching_allocator_worker.py instead: blocks cached as PyTorch's allocator
# does (a grown batch's new block beside the old one), with the time it takes to allocate, free
# and compute (MALLOC_MS, FREE_MS, COMPUTE_MS, OOM_MS; see that file). With SIM_TRACE=1 either
# worker logs each batch and release. Both report each batch's memory (`batch_memory`);
# BATCH_MEMORY=0 turns that off (gpupool then cannot tell a heavy batch that fitted). KEEP_DIR=folder keeps the last run's files there (the worker logs are
# in .gpupool/out.jsonl/logs/).
set -eu
RUNS=${1:-8}; N=${2:-20000}; W=${W:-2}; EVERY=${EVERY:-500}
CAPACITY=${CAPACITY:-100}; ITEM=${ITEM:-10}; HEAVY=${HEAVY:-60}; MAX=${MAX:-8}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLI=${GPUPOOL:-$ROOT/dist/cli/main.js}
D=${KEEP_DIR:-$(mktemp -d)}; mkdir -p "$D/device"
python3 - "$D/in.jsonl" "$N" "$EVERY" "$ITEM" "$HEAVY" <<'PY'
import json, sys
path, n, every, item, heavy_mem = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
with open(path, "w") as f:
    for i in range(1, n + 1):
        heavy = every > 0 and i % every == every // 2
        f.write(json.dumps({"n": i, "mem": heavy_mem if heavy else item}) + "\n")
PY
WORKER=$ROOT/sdk/python/tests/fixtures/shared_memory_worker.py; COSTS=""
if [ "${ALLOCATOR:-}" = caching ]; then
  WORKER=$ROOT/bench/shared-card/caching_allocator_worker.py
  for v in MALLOC_MS FREE_MS COMPUTE_MS OOM_MS; do [ -n "${!v:-}" ] && COSTS="$COSTS, $v: \"${!v}\""; done
fi
[ -n "${SIM_TRACE:-}" ] && COSTS="$COSTS, SIM_TRACE: \"$SIM_TRACE\""
[ -n "${BATCH_MEMORY:-}" ] && COSTS="$COSTS, BATCH_MEMORY: \"$BATCH_MEMORY\""
cat > "$D/gpupool.yaml" <<EOC
models:
  m:
    command: [python3, $WORKER]
    devices: cpu
    workers_per_device: $W
    batch: { max: $MAX, timeout: 5ms }
    env: { SHARED_DEVICE_DIR: $D/device, DEVICE_CAPACITY: "$CAPACITY"$COSTS }
EOC
echo "# $W workers, $N items of $ITEM on $CAPACITY, one of $HEAVY every $EVERY, batch.max $MAX, ${ALLOCATOR:-simple} allocator$COSTS; $CLI"
for r in $(seq 1 "$RUNS"); do
  rm -rf "$D/out.jsonl" "$D/.gpupool"
  (cd "$D" && node "$CLI" run -c gpupool.yaml -i in.jsonl -o out.jsonl --fresh --progress none --json > summary.json)
  ooms=$(cat "$D"/.gpupool/out.jsonl/logs/*.log | grep -c 'failed (oom)' || true)
  [ "${ALLOCATOR:-}" = caching ] && grep -h 'caching allocator stats' "$D"/.gpupool/out.jsonl/logs/*.log | sed 's/^/  /'
  python3 - "$D" "$r" "$ooms" <<'PY'
import json, sys
d, r, ooms = sys.argv[1], sys.argv[2], sys.argv[3]
s = json.load(open(f"{d}/summary.json"))
lines = [json.loads(l) for l in open(f"{d}/out.jsonl")]
ok = len({l["id"] for l in lines if "output" in l})
dev = s["devices"][0]
mean = dev["items"] / dev["batches"] if dev.get("batches") else float("nan")
print(f"run {r}: limits {'/'.join(map(str, s['workerBatchLimits']['cpu:0']))}, mean batch {mean:.2f}, "
      f"out-of-memory batches {ooms} (worker logs), {s['wallSeconds']:.2f} s, "
      f"{ok} of {len(lines)} lines ok (ids unique), failed {s['failed']}")
PY
done
if [ -z "${KEEP_DIR:-}" ]; then rm -rf "$D"; fi
