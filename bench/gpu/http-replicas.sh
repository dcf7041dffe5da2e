#!/bin/bash
# On the GPU host (2+ cards): examples/http-server as a `kind: http` model, one replica per
# card, each with PyTorch holding 256 MiB on its card. replica-bench (ReplicaSet + the replica
# proxy, no `gpupool serve` needed) sends requests and counts them per replica, SIGKILLs one
# replica under load and waits for its restart, and checks through NVML (gpupool's providers)
# and raw nvidia-smi that every replica PID sits on its own card, before and after.
# Writes $OUT/http-replicas/ (summary.json, nvidia-smi snapshots, replica logs); ~30-60 s.
# Usage (from the bundle folder): bash bench/gpu/http-replicas.sh
set -u
OUT=${OUT:-/tmp/out}; D="$OUT/http-replicas"; mkdir -p "$D"
nvidia-smi -L > "$D/nvidia-smi-L.txt" 2>&1
node gpupool.mjs devices > "$D/devices-table-before.txt" 2>&1
timeout 110 node replica-bench.mjs -c examples/http-server/gpupool.yaml --out "$D" --requests 2000 --concurrency 8 2> "$D/bench-stderr.txt"
echo "replica-bench exit: $?" | tee "$D/exit.txt"
cat "$D/bench-stderr.txt"
python3 - "$D/summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for phase in ("balanced", "duringRestart", "afterRestart"):
    t = s.get(phase)
    if t:
        print(f"{phase}: ok {t['ok']}/{t['requests']}, other statuses {t['statuses']}, network errors {t['networkErrors']}, "
              f"per replica {t['perReplica']}, {t['requestsPerSecond']} req/s, latency ms {t['latencyMs']}")
        for rid, seen in t["seen"].items():
            print(f"  {rid}: pids {seen['pids']} CUDA_VISIBLE_DEVICES {seen['cudaVisibleDevices']} torch {seen['torchUuids']} on {seen['computedOn']}")
print("restart ms:", s.get("restartMs"), "victim:", json.dumps(s.get("victim")))
for key in ("placementBeforeKill", "placementAfterRestart"):
    for p in s.get(key, []):
        print(f"{key}: {p['replica']} pid {p['pid']} expected {p['expected']} seen {p['seenOn']} nvidia-smi {p['nvidiaSmiUuids']} "
              f"{p.get('usedMiB')} MiB owner {p.get('ownerSeenByGpupool')} -> {'OK' if p['ok'] else 'WRONG'}")
print("checks:", json.dumps(s.get("checks")))
print("HTTP REPLICAS VERIFIED" if s.get("ok") else "HTTP REPLICAS NOT VERIFIED")
PY
