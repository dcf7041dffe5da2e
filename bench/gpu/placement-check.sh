#!/bin/bash
# On the GPU host (2+ cards): another process holds all but LEAVE_GIB of card 0. With
# `memory.need: 20GiB`, `placement: spread` must start its workers on the other cards only
# (and say why card 0 got none); `pack` must put them on as few cards as hold them; a need no
# card has free must be refused with a message naming each card's free memory.
# Writes under $OUT/placement-*. Usage (from the bundle folder): bash bench/gpu/placement-check.sh
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
G="node gpupool.mjs"
LEAVE_GIB=${LEAVE_GIB:-8}
ITEMS=${ITEMS:-120000}  # enough for the job to outlast its start (~10 s) and the snapshot after it
python3 -c "import json; [print(json.dumps({'seed': i})) for i in range($ITEMS)]" > /tmp/placement-items.jsonl
CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python3 examples/torch/hog.py "$LEAVE_GIB" 150 > "$OUT/placement-hog.txt" 2>&1 &
HOG=$!
for i in $(seq 1 100); do grep -q holds "$OUT/placement-hog.txt" 2>/dev/null && break; sleep 0.2; done
$G devices > "$OUT/placement-devices-with-hog.txt" 2>&1

for NAME in placement placement-pack; do
  $G doctor -c "bench/gpu/$NAME.yaml" > "$OUT/$NAME-doctor.txt" 2>&1; echo "doctor exit: $?" >> "$OUT/$NAME-doctor.txt"
  $G run -c "bench/gpu/$NAME.yaml" -i /tmp/placement-items.jsonl -o "/tmp/$NAME-out.jsonl" --fresh --progress none --json \
    > "$OUT/$NAME-summary.json" 2> "$OUT/$NAME-stderr.txt" &
  RUN=$!
  sleep 10
  $G devices --json > "$OUT/$NAME-devices-during.json" 2>>"$OUT/$NAME-stderr.txt"
  $G devices > "$OUT/$NAME-devices-during.txt" 2>&1
  wait $RUN; echo "exit: $?" > "$OUT/$NAME-exit.txt"
done

$G run -c bench/gpu/placement-too-big.yaml -i /tmp/placement-items.jsonl -o /tmp/placement-too-big-out.jsonl --fresh --progress none \
  > "$OUT/placement-too-big-stdout.txt" 2> "$OUT/placement-too-big-stderr.txt"
echo "exit: $?" > "$OUT/placement-too-big-exit.txt"
$G doctor -c bench/gpu/placement-too-big.yaml > "$OUT/placement-too-big-doctor.txt" 2>&1; echo "doctor exit: $?" >> "$OUT/placement-too-big-doctor.txt"
kill $HOG 2>/dev/null

python3 - "$OUT" "$ITEMS" <<'PY' > "$OUT/placement-verdict.txt"
import json, sys
out, total = sys.argv[1], int(sys.argv[2])
for name in ("placement", "placement-pack"):
    raw = open(f"{out}/{name}-summary.json").read().strip()
    summary = json.loads(raw) if raw else {}
    items = {d["key"]: d["items"] for d in summary.get("devices", [])}
    during = json.load(open(f"{out}/{name}-devices-during.json"))
    workers = {d["key"]: sorted(p["worker"] for p in d["processes"] if p["ours"]) for d in during}
    print(f"{name}: exit {open(f'{out}/{name}-exit.txt').read().split()[-1]}, items per device {items}, workers seen by NVML {workers}")
    ok = "cuda:0" not in items and not workers.get("cuda:0") and sum(items.values()) == total
    print(f"  {'CARD 0 SPARED' if ok else 'CARD 0 USED OR JOB INCOMPLETE'}")
    for line in open(f"{out}/{name}-stderr.txt"):
        if "no room on" in line:
            print("  " + line.strip())
print("too big: " + open(f"{out}/placement-too-big-exit.txt").read().strip())
print("  " + open(f"{out}/placement-too-big-stderr.txt").read().strip().replace("\n", "\n  "))
PY
cat "$OUT/placement-verdict.txt"
