#!/bin/bash
# On the GPU host: another process holds all but LEAVE_GIB of card 0; a ResNet worker whose
# memory grows 256 MiB per item starts with batch.max 4096. Every item must finish, none
# failed; the learned limit is what fits. Then the same run again (its need, measured and
# remembered by the first, must not be what the card had room for once the batches grew into an
# out-of-memory, or the second start is refused with as much memory free). Writes under $OUT/oom-*.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LEAVE_GIB=${LEAVE_GIB:-24}
: > "$OUT/oom-verdict.txt"
python3 -c 'import json; [print(json.dumps({"seed": i})) for i in range(30000)]' > /tmp/oom-items.jsonl
CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python3 examples/torch/hog.py "$LEAVE_GIB" 300 > "$OUT/oom-hog.txt" 2>&1 &
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
print(open(f"{sys.argv[1]}/{sys.argv[2]}-summary.json").read())
PY
}
for run in oom oom-again; do
  rm -f /tmp/oom-out.jsonl
  ( time node gpupool.mjs run -c examples/torch/gpupool-oom.yaml -i /tmp/oom-items.jsonl -o /tmp/oom-out.jsonl --fresh --progress plain --json > "$OUT/$run-summary.json" 2> "$OUT/$run-stderr.txt" ) 2> "$OUT/$run-time.txt"
  echo "exit: $?" | tee -a "$OUT/$run-time.txt" >> "$OUT/oom-verdict.txt"
  [ -f /tmp/oom-out.jsonl ] && verdict "$run" >> "$OUT/oom-verdict.txt"
done
kill $HOG
cat "$OUT/oom-verdict.txt"
