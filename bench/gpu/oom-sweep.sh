#!/bin/bash
# On the GPU host (issue 3, "OOM on the GPU host"): a hog holds all but 24 GiB of card 0; a
# sweep of fixed batch sizes finds the best fixed throughput of a ResNet-50 worker whose memory
# grows 256 MiB per item; then `gpupool run` with batch.max 4096 must finish every item with no
# failed line and reach >= 90% of that throughput within 30 s, with memory.reserve set (the
# memory guard must not stall). About 3 minutes on one H200. Writes $OUT/oom-sweep.json (+ .png).
# From the project root:  source .gpu-host/env.sh && cd .gpu-host/app && bash bench/gpu/oom-sweep.sh
# Extra arguments go to bench/gpu/oom-sweep.py (e.g. --devices 1 --hog-leave-gib 16).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
python3 bench/gpu/oom-sweep.py --out "$OUT" "$@"
