#!/bin/bash
# On the GPU host: one PyTorch worker per card runs a batch job; while it runs, NVML's
# per-process memory (through `gpupool devices --json`) and nvidia-smi must show each
# worker's PID on its own card and nowhere else. Writes everything under $OUT.
# Usage (from the bundle folder): bash bench/gpu/pinning-check.sh
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
G="node gpupool.mjs"
python3 -c 'import json; [print(json.dumps({"seed": i})) for i in range(400000)]' > /tmp/items.jsonl
$G devices --json > "$OUT/devices-before.json" 2> "$OUT/devices-before.err"
nvidia-smi -L > "$OUT/nvidia-smi-L.txt"
( time $G run -c examples/torch/gpupool.yaml -i /tmp/items.jsonl -o /tmp/resnet-out.jsonl --fresh --progress plain --json > "$OUT/run-summary.json" 2> "$OUT/run-stderr.txt" ) 2> "$OUT/run-time.txt" &
RUN=$!
for i in 1 2 3 4 5 6 7 8; do
  sleep 3
  kill -0 $RUN 2>/dev/null || break
  $G devices --json > "$OUT/devices-during-$i.json" 2>>"$OUT/devices-during.err"
  nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader > "$OUT/smi-apps-$i.csv"
  $G devices > "$OUT/devices-table-$i.txt" 2>&1
done
wait $RUN; echo "run exit: $?" >> "$OUT/run-time.txt"
wc -l /tmp/resnet-out.jsonl > "$OUT/output-lines.txt"; head -3 /tmp/resnet-out.jsonl >> "$OUT/output-lines.txt"
python3 bench/gpu/verify_pinning.py "$OUT" > "$OUT/pinning-verdict.txt" 2>&1
cat "$OUT/pinning-verdict.txt"
