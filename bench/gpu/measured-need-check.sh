#!/bin/bash
# On a GPU host (1 card is enough): a model without `memory.need` is measured on its first run
# and placed by the remembered peak (+10%) on the next. Run 1: examples/torch (ResNet-50) on
# 300 items, no memory.need; the recorded value is shown. Run 2: a hog leaves less than the
# recorded need free on card 0; the start must be refused naming the remembered need.
# Writes under $OUT/measured-need-*. Usage (from the bundle folder): bash bench/gpu/measured-need-check.sh
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
G="node gpupool.mjs"
export GPUPOOL_CACHE_DIR="$OUT/measured-need-cache"   # never the user's ~/.cache
rm -rf "$GPUPOOL_CACHE_DIR"
python3 -c "import json; [print(json.dumps({'seed': i})) for i in range(300)]" > /tmp/measured-need-items.jsonl

$G run -c examples/torch/gpupool.yaml --devices cuda:0 -i /tmp/measured-need-items.jsonl -o /tmp/measured-need-out1.jsonl --fresh --progress none \
  > "$OUT/measured-need-run1-stdout.txt" 2> "$OUT/measured-need-run1-stderr.txt"
echo "exit: $?" > "$OUT/measured-need-run1-exit.txt"
cp "$GPUPOOL_CACHE_DIR/measured-need.json" "$OUT/measured-need-recorded.json" 2>/dev/null
echo "== recorded after run 1:"; cat "$OUT/measured-need-recorded.json" 2>/dev/null || echo "(no file)"

# Leave half the recorded need free: less than the need (and than the recorded value itself).
LEAVE_GIB=$(python3 -c "import json; n=json.load(open('$OUT/measured-need-recorded.json'))['needs'][0]['bytes']; print(round(n/2/2**30, 3))" 2>/dev/null || echo 0.25)
CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python3 examples/torch/hog.py "$LEAVE_GIB" 60 > "$OUT/measured-need-hog.txt" 2>&1 &
HOG=$!
for i in $(seq 1 150); do grep -q holds "$OUT/measured-need-hog.txt" 2>/dev/null && break; sleep 0.2; done
$G devices > "$OUT/measured-need-devices-with-hog.txt" 2>&1
$G doctor -c examples/torch/gpupool.yaml --devices cuda:0 > "$OUT/measured-need-doctor.txt" 2>&1; echo "doctor exit: $?" >> "$OUT/measured-need-doctor.txt"
$G run -c examples/torch/gpupool.yaml --devices cuda:0 -i /tmp/measured-need-items.jsonl -o /tmp/measured-need-out2.jsonl --fresh --progress none \
  > "$OUT/measured-need-run2-stdout.txt" 2> "$OUT/measured-need-run2-stderr.txt"
echo "exit: $?" > "$OUT/measured-need-run2-exit.txt"
kill $HOG 2>/dev/null; wait $HOG 2>/dev/null

python3 - "$OUT" <<'PY' | tee "$OUT/measured-need-verdict.txt"
import json, sys
out = sys.argv[1]
read = lambda n: open(f"{out}/measured-need-{n}").read()
try:
    needs = json.loads(read("recorded.json"))["needs"]
except Exception as e:
    needs = []
    print(f"no recorded need: {e}")
run1, run2 = read("run1-exit.txt").split()[-1], read("run2-exit.txt").split()[-1]
err2 = read("run2-stderr.txt")
print(f"run 1 exit {run1}; recorded: " + ", ".join(f"{n['model']} on {n['device']}: {n['bytes'] / 2**30:.2f} GiB" for n in needs))
print(f"hog: {read('hog.txt').strip()}")
print(f"run 2 exit {run2}: {err2.strip()}")
doctor = [l.strip() for l in read("doctor.txt").splitlines() if "remembered" in l]
print("doctor: " + (doctor[0] if doctor else "(no remembered need shown)"))
ok = run1 == "0" and len(needs) == 1 and needs[0]["bytes"] > 0 and run2 != "0" and "GPUPOOL_E_NO_DEVICE_FITS" in err2 and "remembered:" in err2 and bool(doctor)
print("VERIFIED" if ok else "NOT VERIFIED")
PY
