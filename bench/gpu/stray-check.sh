#!/bin/bash
# On the GPU host (2+ cards): a worker pinned to card 1 starts a child with CUDA_VISIBLE_DEVICES
# reset to 0 and its gpupool variables dropped; the child allocates 1 GiB on card 0. gpupool
# must report the stray within 5 s (warn), then, in a second run, kill it (--on-stray kill).
# Writes under $OUT/stray-*. Usage (from the bundle folder): bash bench/gpu/stray-check.sh
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
G="node gpupool.mjs"
MARK=/tmp/gpupool-stray-mark.txt
python3 -c 'import json; [print(json.dumps({"n": i})) for i in range(150)]' > /tmp/stray-items.jsonl
nvidia-smi -L > "$OUT/stray-nvidia-smi-L.txt"

for MODE in warn kill; do
  rm -f "$MARK" "/tmp/stray-$MODE-out.jsonl"
  GPUPOOL_AUDIT_RECORD="$OUT/stray-$MODE-audit.jsonl" $G run -c bench/gpu/stray.yaml -i /tmp/stray-items.jsonl \
    -o "/tmp/stray-$MODE-out.jsonl" --fresh --progress none --json --on-stray "$MODE" \
    > "$OUT/stray-$MODE-summary.json" 2> "$OUT/stray-$MODE-stderr.txt" &
  RUN=$!
  for i in $(seq 1 100); do [ -s "$MARK" ] && break; sleep 0.2; done
  sleep 3
  $G devices > "$OUT/stray-$MODE-devices.txt" 2>&1
  $G devices --json > "$OUT/stray-$MODE-devices.json" 2>>"$OUT/stray-$MODE-devices.txt"
  nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader > "$OUT/stray-$MODE-smi-apps.csv"
  $G doctor > "$OUT/stray-$MODE-doctor.txt" 2>&1; echo "doctor exit: $?" >> "$OUT/stray-$MODE-doctor.txt"
  wait $RUN; echo "run exit: $?" >> "$OUT/stray-$MODE-summary.json"
  cp "$MARK" "$OUT/stray-$MODE-mark.txt" 2>/dev/null
  CHILD=$(cut -d' ' -f1 "$MARK" 2>/dev/null)
  python3 - "$OUT" "$MODE" "${CHILD:-0}" <<'PY' > "$OUT/stray-$MODE-verdict.txt"
import datetime, os, re, sys
out, mode, child = sys.argv[1], sys.argv[2], int(sys.argv[3])
mark = open(f"{out}/stray-{mode}-mark.txt").read().split()
allocated = float(mark[1])
print(f"child PID {mark[0]} allocated 1 GiB on card 0 ({mark[2]}) at {allocated:.3f}")
lines = [l for l in open(f"{out}/stray-{mode}-stderr.txt") if " stray: " in l]
if not lines:
    print("NO STRAY REPORTED"); sys.exit()
m = re.search(r"gpupool: (\S+Z) (stray: .*)", lines[0])
seen = datetime.datetime.fromisoformat(m.group(1).replace("Z", "+00:00")).timestamp()
print(f"reported at {seen:.3f}: {m.group(2)}")
delay = seen - allocated
print(f"delay {delay:.2f} s: {'WITHIN 5 S' if delay <= 5 else 'TOO SLOW'}")
if mode == "kill":
    killed = f"killed PID {child}" in lines[0]
    try:
        state = open(f"/proc/{child}/stat").read().rsplit(")", 1)[1].split()[0]
        alive = state != "Z"
    except OSError:
        alive = False
    print(f"child {child}: {'KILLED' if killed and not alive else 'NOT KILLED'} (message says killed: {killed}; alive now: {alive})")
PY
  cat "$OUT/stray-$MODE-verdict.txt"
  [ -n "${CHILD:-}" ] && kill "$CHILD" 2>/dev/null
done
