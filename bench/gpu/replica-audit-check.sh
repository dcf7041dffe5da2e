#!/bin/bash
# On the GPU host (1+ card): `kind: http` replicas under the stray audit and memory-aware
# placement, through `gpupool serve`. The example server's PyTorch holds 2 GiB on its card.
#   warn:      memory.limit 1 GiB: the replica is reported over budget (NVML's per-process
#              memory), left running; what it holds is measured and remembered;
#   kill:      the same, with --on-stray kill: killed, restarted (a new PID) on its card;
#   remembered: no limit, no memory.need: placed by the remembered need (+10%); with a hog
#              holding all but 1 GiB of every card, refused naming it (exit 7);
#   too-big:   memory.need 1000 GiB: refused before any server starts (exit 7).
# Writes $OUT/replica-audit/. Usage (from the bundle folder): bash bench/gpu/replica-audit-check.sh
set -u
OUT=${OUT:-/tmp/out}; D="$OUT/replica-audit"; mkdir -p "$D"
export GPUPOOL_CACHE_DIR=/tmp/gpupool-replica-cache; rm -rf "$GPUPOOL_CACHE_DIR"
G="node gpupool.mjs"
C=bench/gpu/replica-audit
nvidia-smi -L > "$D/nvidia-smi-L.txt"

workers() { python3 -c 'import json,sys,urllib.request; print(json.dumps([{k: w.get(k) for k in ("id","kind","state","pid","restarts")} for w in json.load(urllib.request.urlopen(sys.argv[1] + "/v1/workers"))]))' "$1"; }

# serve NAME CONFIG ON_STRAY SECONDS: start, wait for ready, keep it up SECONDS, snapshot, drain.
serve() {
  local name=$1
  $G serve -c "$2" --port 0 --state-dir "/tmp/replica-$name" --on-stray "$3" --json > "$D/$name-stdout.txt" 2> "$D/$name-stderr.txt" &
  local pid=$!
  for i in $(seq 1 600); do grep -q '"event":"ready"' "$D/$name-stdout.txt" 2>/dev/null && break; kill -0 $pid 2>/dev/null || break; sleep 0.2; done
  local url; url=$(python3 -c 'import json,sys; print(next(json.loads(l)["url"] for l in open(sys.argv[1]) if "listening" in l))' "$D/$name-stdout.txt" 2>/dev/null)
  date -u +%FT%T.%3NZ > "$D/$name-ready-at.txt"
  [ -n "$url" ] && workers "$url" > "$D/$name-workers-at-ready.json"
  sleep "$4"
  nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory --format=csv,noheader > "$D/$name-smi-apps.csv"
  $G devices > "$D/$name-devices.txt" 2>&1
  [ -n "$url" ] && workers "$url" > "$D/$name-workers-after.json"
  kill -INT $pid 2>/dev/null; wait $pid; echo "serve exit: $?" >> "$D/$name-stderr.txt"
}

serve warn $C/replica-audit.yaml warn 12
serve kill $C/replica-audit.yaml kill 12
cp "$GPUPOOL_CACHE_DIR/measured-need.json" "$D/measured-need.json" 2>/dev/null
serve remembered $C/replica-need.yaml warn 3

# A hog leaves 1 GiB free on every card: the remembered need (2 GiB and more) fits nowhere.
python3 - > "$D/hog.txt" 2>&1 <<'PY' &
import time, torch
hold = []
for i in range(torch.cuda.device_count()):
    free, _ = torch.cuda.mem_get_info(i)
    hold.append(torch.empty(free - (1 << 30), dtype=torch.uint8, device=f"cuda:{i}"))
print("holding", [t.numel() >> 30 for t in hold], "GiB", flush=True)
time.sleep(40)
PY
HOG=$!
for i in $(seq 1 100); do grep -q holding "$D/hog.txt" && break; sleep 0.2; done
$G serve -c $C/replica-need.yaml --port 0 --state-dir /tmp/replica-refused > /dev/null 2> "$D/remembered-refused-stderr.txt"
echo "exit: $?" >> "$D/remembered-refused-stderr.txt"
kill $HOG; wait $HOG 2>/dev/null
$G serve -c $C/replica-too-big.yaml --port 0 --state-dir /tmp/replica-too-big > /dev/null 2> "$D/too-big-stderr.txt"
echo "exit: $?" >> "$D/too-big-stderr.txt"

python3 - "$D" <<'PY' | tee "$D/verdict.txt"
import json, sys, os
d = sys.argv[1]
def read(n):
    try: return open(os.path.join(d, n)).read()
    except OSError: return ""
def js(n):
    try: return json.load(open(os.path.join(d, n)))
    except Exception: return []
ok = True
def check(what, cond, detail=""):
    global ok
    ok &= bool(cond)
    print(("PASS " if cond else "FAIL ") + what + (f": {detail}" if detail else ""))
warn = read("warn-stderr.txt")
strays = [l for l in warn.splitlines() if " stray: " in l or "over budget" in l or "over its" in l]
check("warn: the replica reported as a stray over memory.limit", any("web/" in l for l in strays), strays[0] if strays else warn[-400:])
a, b = js("warn-workers-at-ready.json"), js("warn-workers-after.json")
check("warn: the replica left running (same PID)", a and b and [w["pid"] for w in a] == [w["pid"] for w in b], f"{a} -> {b}")
check("warn: what the replica holds measured and remembered", "a replica held" in warn, next((l for l in warn.splitlines() if "a replica held" in l), ""))
kill = read("kill-stderr.txt")
killed = [l for l in kill.splitlines() if "killed PID" in l]
a, b = js("kill-workers-at-ready.json"), js("kill-workers-after.json")
check("kill: the replica killed", bool(killed), killed[0] if killed else kill[-400:])
check("kill: restarted with a new PID", a and b and all(x["pid"] != y["pid"] and y["restarts"] >= 1 for x, y in zip(a, b)), f"{a} -> {b}")
rem = read("remembered-stderr.txt")
check("remembered: placed by the remembered need", "placing by" in rem and "remembered" in rem, next((l for l in rem.splitlines() if "placing by" in l), rem[-400:]))
ref = read("remembered-refused-stderr.txt")
check("remembered + hog: refused, exit 7, naming the remembered need", "exit: 7" in ref and "GPUPOOL_E_NO_DEVICE_FITS" in ref and "remembered" in ref, ref.strip()[-500:])
big = read("too-big-stderr.txt")
check("too big: refused, exit 7, naming each card's free memory", "exit: 7" in big and "GPUPOOL_E_NO_DEVICE_FITS" in big, big.strip()[-400:])
print("REPLICA AUDIT AND PLACEMENT VERIFIED" if ok else "NOT VERIFIED")
PY
