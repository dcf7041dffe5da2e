#!/bin/bash
# On the GPU host: gpupool inside a PID namespace of its own, as in a Docker container or a
# Kubernetes pod (both give one by default). Older NVIDIA drivers report only the host's PIDs,
# so NVML lists a worker under a PID that does not exist in the container; the GPU host's driver
# reports the namespace's (run1). Records what the driver reports there, then runs the OOM check
# (memory.reserve 1 GiB, another process holding all but 24 GiB of the card) inside one, with each
# bundle named in BUNDLES (default: gpupool.mjs), bounded by 120 s: a run that stalls shows as a
# timeout. The audit's samples go to $OUT/pidns-audit-*.jsonl.
# Usage (from the bundle folder): BUNDLES="gpupool-before.mjs gpupool.mjs" bash bench/gpu/pid-namespace-gpu-check.sh
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
BUNDLES=${BUNDLES:-gpupool.mjs}
NS="unshare --pid --fork --kill-child --mount-proc"
V="$OUT/pidns-verdict.txt"; : > "$V"
if ! $NS true 2> "$OUT/pidns-unshare.err"; then
  NS="unshare --user --map-root-user --pid --fork --kill-child --mount-proc"
  $NS true 2>> "$OUT/pidns-unshare.err" || { echo "no PID namespace can be made here: $(cat "$OUT/pidns-unshare.err")" | tee -a "$V"; exit 1; }
fi
echo "namespace: $NS; the host's: $(readlink /proc/self/ns/pid); driver $(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)" >> "$V"

# 1. What the driver reports to a process in the namespace about a CUDA process there.
$NS bash -c '
  echo "namespace: $(readlink /proc/self/ns/pid)"
  python3 -c "import torch, os, time; x = torch.empty(2**30, dtype=torch.uint8, device=\"cuda\"); print(\"python pid in the namespace:\", os.getpid(), flush=True); time.sleep(20)" &
  sleep 12
  echo "--- nvidia-smi --query-compute-apps inside:"; nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader
  echo "--- ps inside:"; ps -e -o pid,comm | head -20
  for b in '"$BUNDLES"'; do echo "--- $b devices inside:"; node $b devices 2>&1; done
  wait' > "$OUT/pidns-driver-pids.txt" 2>&1 &
sleep 12
{ echo "--- nvidia-smi --query-compute-apps on the host:"; nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader; } > "$OUT/pidns-host-view.txt" 2>&1
wait
cat "$OUT/pidns-driver-pids.txt" "$OUT/pidns-host-view.txt" >> "$V"

# 2. The OOM check inside the namespace, per bundle.
python3 -c 'import json; [print(json.dumps({"seed": i})) for i in range(30000)]' > /tmp/oom-items.jsonl
for b in $BUNDLES; do
  rm -f /tmp/pidns-oom-out.jsonl
  start=$(date +%s)
  timeout -s KILL 120 $NS bash -c '
    CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python3 examples/torch/hog.py 24 300 > /dev/null 2>&1 &
    sleep 8
    GPUPOOL_AUDIT_RECORD='"$OUT/pidns-audit-$b.jsonl"' node '"$b"' run -c examples/torch/gpupool-oom.yaml -i /tmp/oom-items.jsonl -o /tmp/pidns-oom-out.jsonl --fresh --progress plain --json' > "$OUT/pidns-oom-$b-summary.json" 2> "$OUT/pidns-oom-$b-stderr.txt"
  rc=$?
  echo "$b: OOM check in the namespace: exit $rc after $(( $(date +%s) - start )) s, output lines $(wc -l < /tmp/pidns-oom-out.jsonl 2>/dev/null || echo none) of 30000" >> "$V"
  tail -4 "$OUT/pidns-oom-$b-stderr.txt" >> "$V"
done
cat "$V"
