#!/bin/bash
# On the GPU host: another process holds all but LEAVE_GIB of card 0; a ResNet worker whose
# memory grows 256 MiB per item starts with batch.max 4096. Every item must finish, none
# failed; the learned limit is what fits. Then the same run again (its need, measured and
# remembered by the first, must not be what the card had room for once the batches grew into an
# out-of-memory, or the second start is refused with as much memory free). Then two runs with
# one item far larger than the others: "oom-giant" holds 40 GiB (never fits: it alone must fail,
# GPUPOOL_E_OUT_OF_MEMORY, and the limit learned must stay that of the others), "oom-heavy"
# 20 GiB (fits with a few others: nothing fails; its learned limit and rate say what one heavy
# item costs the run). Then "oom-shared" and "oom-heavy-shared": the plain and the 20 GiB inputs
# with two workers sharing the card (gpupool-oom-shared.yaml), where one worker's batch can make
# the other's fail. OOM_RUNS="oom-shared oom-heavy-shared" runs only those. Writes under $OUT/oom-*.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LEAVE_GIB=${LEAVE_GIB:-24}
: > "$OUT/oom-verdict.txt"
python3 -c 'import json; [print(json.dumps({"seed": i})) for i in range(30000)]' > /tmp/oom-items.jsonl
python3 -c 'import json; [print(json.dumps({"seed": i, "extra_mb": 40960} if i == 777 else {"seed": i})) for i in range(30000)]' > /tmp/oom-giant.jsonl
python3 -c 'import json; [print(json.dumps({"seed": i, "extra_mb": 20480} if i == 15000 else {"seed": i})) for i in range(30000)]' > /tmp/oom-heavy.jsonl
CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python3 examples/torch/hog.py "$LEAVE_GIB" 420 > "$OUT/oom-hog.txt" 2>&1 &
HOG=$!
sleep 8
node gpupool.mjs devices > "$OUT/oom-devices-with-hog.txt" 2>&1
verdict() {  # verdict RUN: the output's lines and the run's summary
python3 - "$OUT" "$1" <<'PY'
import json, sys
lines = [json.loads(l) for l in open('/tmp/oom-out.jsonl')]
ids = {l['id'] for l in lines}
failed = [l for l in lines if 'error' in l]
print(f"{sys.argv[2]}: lines {len(lines)}, unique ids {len(ids)}, failed {len(failed)}")
for l in failed[:3]: print(f"  failed {l['id']}: {l['error']['code']}: {l['error']['message'][:160]}")
print(open(f"{sys.argv[1]}/{sys.argv[2]}-summary.json").read())
PY
}
for run in ${OOM_RUNS:-oom oom-again oom-giant oom-heavy oom-shared oom-heavy-shared}; do
  input=/tmp/oom-items.jsonl
  config=examples/torch/gpupool-oom.yaml
  [[ $run == *shared ]] && config=examples/torch/gpupool-oom-shared.yaml
  [ "$run" = oom-giant ] && input=/tmp/oom-giant.jsonl
  [[ $run == oom-heavy* ]] && input=/tmp/oom-heavy.jsonl
  rm -f /tmp/oom-out.jsonl
  rm -rf /tmp/.gpupool/oom-out.jsonl/logs  # worker logs are appended to: each run's count must be its own
  ( time timeout -k 5 100 node gpupool.mjs run -c "$config" -i "$input" -o /tmp/oom-out.jsonl --fresh --progress plain --json > "$OUT/$run-summary.json" 2> "$OUT/$run-stderr.txt" ) 2> "$OUT/$run-time.txt"
  echo "exit: $?" | tee -a "$OUT/$run-time.txt" >> "$OUT/oom-verdict.txt"
  [ -f /tmp/oom-out.jsonl ] && verdict "$run" >> "$OUT/oom-verdict.txt"
  # Batches each worker answered as out of memory (the SDK's report headers in its log).
  for log in /tmp/.gpupool/oom-out.jsonl/logs/*.log; do echo "  $(basename "$log"): $(grep -c 'failed (oom)' "$log") out-of-memory batches"; done >> "$OUT/oom-verdict.txt"
done
kill $HOG
cat "$OUT/oom-verdict.txt"
