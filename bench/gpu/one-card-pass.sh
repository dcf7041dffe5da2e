#!/bin/bash
# On a one-card GPU host: every GPU check of the bundle in one device call, so that a new
# bundle is known to work there end to end. Each step has its own time limit and its own
# folder under $OUT; a step that fails or runs out of time does not stop the others.
#   pinning   bench/gpu/pinning-check.sh   (worker PID on its own card only, through NVML)
#   oom       bench/gpu/oom-check.sh       (batches split on OOM, limit learned, none lost)
#   fatal     bench/gpu/fatal-check.sh     (sticky CUDA error: worker recycled, poison set aside)
#   folder    bench/gpu/folder-resume-check.sh (a folder killed mid-run, grown, resumed: each file once)
#   append    bench/gpu/jsonl-append-check.sh (a JSONL file killed mid-run, lines added, resumed: each line once)
#   producer  bench/run/producer-loop-check.sh (a file appended in pieces while runs loop, some killed: each line once)
#   scaling   bench/gpu/scaling/run.sh --ns 1 --bracket (issue 7's three workloads at N = 1)
# About 11 minutes in all, more than one device call may run: split it with STEPS. From the bundle folder:
#   source .gpu-host/env.sh && cd .gpu-host/app && bash bench/gpu/one-card-pass.sh
# STEPS="pinning oom" runs only those.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
SCALING_BUDGET=${SCALING_BUDGET:-230}

step() {  # step NAME SECONDS COMMAND...: run with OUT=$OUT/NAME, note exit status and wall time
  local name=$1 limit=$2; shift 2
  [[ " ${STEPS:-pinning oom fatal folder append producer scaling} " == *" $name "* ]] || return 0
  mkdir -p "$OUT/$name"
  local t0=$SECONDS
  OUT="$OUT/$name" timeout -k 10 "$limit" "$@" > "$OUT/$name/step.log" 2>&1
  local rc=$?
  echo "$name: exit $rc in $((SECONDS - t0)) s" | tee -a "$OUT/steps.txt"
}

nvidia-smi -L > "$OUT/nvidia-smi-L.txt" 2>&1
nproc > "$OUT/nproc.txt"
step pinning 120 bash bench/gpu/pinning-check.sh
step oom 320 bash bench/gpu/oom-check.sh
step fatal 120 bash bench/gpu/fatal-check.sh
step folder 150 bash bench/gpu/folder-resume-check.sh
step append 120 bash bench/gpu/jsonl-append-check.sh
step producer 200 bash bench/run/producer-loop-check.sh 20000 90
step scaling $((SCALING_BUDGET + 60)) bash bench/gpu/scaling/run.sh --ns 1 --bracket --budget "$SCALING_BUDGET"
