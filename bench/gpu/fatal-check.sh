#!/bin/bash
# On the GPU host (issue 3, "Fatal error on the GPU host"): a worker that triggers a real sticky
# CUDA error (a device-side assert, then an illegal memory access) on one poison input is
# recycled; the poison ends as one failed line after max_attempts, every other item is done.
# About a minute on one H100/H200. Writes $OUT/fatal-check.json.
# From the project root:  source .gpu-host/env.sh && cd .gpu-host/app && bash bench/gpu/fatal-check.sh
# Extra arguments go to bench/gpu/fatal-check.py (e.g. --devices 1 --modes assert).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
python3 bench/gpu/fatal-check.py --out "$OUT" "$@"
