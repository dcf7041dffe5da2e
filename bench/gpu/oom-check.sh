#!/bin/bash
# On the GPU host: another process holds all but LEAVE_GIB of card 0; a ResNet worker whose
# memory grows 256 MiB per item starts with batch.max 4096. Every item must finish, none
# failed; the learned limit is what fits. Writes under $OUT/oom-*.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
LEAVE_GIB=${LEAVE_GIB:-24}
python3 -c 'import json; [print(json.dumps({"seed": i})) for i in range(30000)]' > /tmp/oom-items.jsonl
CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python3 examples/torch/hog.py "$LEAVE_GIB" 300 > "$OUT/oom-hog.txt" 2>&1 &
HOG=$!
sleep 8
node gpupool.mjs devices > "$OUT/oom-devices-with-hog.txt" 2>&1
( time node gpupool.mjs run -c examples/torch/gpupool-oom.yaml -i /tmp/oom-items.jsonl -o /tmp/oom-out.jsonl --progress plain --json > "$OUT/oom-summary.json" 2> "$OUT/oom-stderr.txt" ) 2> "$OUT/oom-time.txt"
echo "exit: $?" >> "$OUT/oom-time.txt"
kill $HOG
python3 - "$OUT" <<'PY' > "$OUT/oom-verdict.txt"
import json, sys
lines = [json.loads(l) for l in open('/tmp/oom-out.jsonl')]
ids = {l['id'] for l in lines}
failed = [l for l in lines if 'error' in l]
print(f"lines {len(lines)}, unique ids {len(ids)}, failed {len(failed)}")
print(open(sys.argv[1] + '/oom-summary.json').read())
PY
cat "$OUT/oom-verdict.txt"
