#!/bin/bash
# On the GPU host: bench/gpu/oom-check.sh's runs with a timeline of each worker (traced_worker.py),
# to see where a run that learns its batch size spends its time. Another process holds all but
# LEAVE_GIB (24) of card 0; each item holds 256 MiB more; batch.max 4096; ITEMS (30,000) a run.
# Runs: oom (one worker), oom-shared (two on the card), oom-heavy-shared (two, and the middle item
# holds 20 GiB more), oom-pages-shared (two, and every 50th item a page of PAGE_MB, 10 GiB) and
# oom-pages-shared-off (the same, its workers not saying what batches take: BATCH_MEMORY=0).
# CLI: the bundle to run (gpupool.mjs). START_HOG=0: the caller runs hog.py.
#   TRACE_RUNS="oom oom-shared" OUT=... bash bench/gpu/oom-trace/trace.sh
# Writes $OUT/<run>/{summary.json,stderr.txt,trace/*.jsonl,timeline.txt} (analyze.py makes the last).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../../.." && pwd)
LEAVE_GIB=${LEAVE_GIB:-24}; ITEMS=${ITEMS:-30000}
CLI=${CLI:-gpupool.mjs}
python3 -c "import json; [print(json.dumps({'seed': i})) for i in range($ITEMS)]" > /tmp/trace-items.jsonl
python3 -c "import json; [print(json.dumps({'seed': i, 'extra_mb': 20480} if i == $ITEMS // 2 else {'seed': i})) for i in range($ITEMS)]" > /tmp/trace-heavy.jsonl
python3 -c "import json; [print(json.dumps({'seed': i, 'extra_mb': ${PAGE_MB:-10240}} if i % 50 == 25 else {'seed': i})) for i in range($ITEMS)]" > /tmp/trace-pages.jsonl
if [ "${START_HOG:-1}" = 1 ]; then
  CUDA_DEVICE_ORDER=PCI_BUS_ID CUDA_VISIBLE_DEVICES=0 python3 "$ROOT/examples/torch/hog.py" "$LEAVE_GIB" 420 > "$OUT/hog.txt" 2>&1 &
  HOG=$!
  sleep 8
fi
for run in ${TRACE_RUNS:-oom oom-shared}; do
  mkdir -p "$OUT/$run/trace"
  input=/tmp/trace-items.jsonl; config=$run; memory=1
  [ "$run" = oom-heavy-shared ] && input=/tmp/trace-heavy.jsonl && config=oom-shared
  [ "${run#oom-pages-shared}" != "$run" ] && input=/tmp/trace-pages.jsonl && config=oom-shared
  [ "$run" = oom-pages-shared-off ] && memory=0
  rm -rf /tmp/trace-out.jsonl /tmp/.gpupool/trace-out.jsonl
  ( cd "$ROOT" && time BATCH_MEMORY=$memory TRACE_DIR="$OUT/$run/trace" timeout -k 5 120 node "$CLI" run -c "$HERE/$config.yaml" -i "$input" -o /tmp/trace-out.jsonl --fresh --progress plain --json > "$OUT/$run/summary.json" 2> "$OUT/$run/stderr.txt" ) 2> "$OUT/$run/time.txt"
  python3 -c "import json; ids=[json.loads(l)['id'] for l in open('/tmp/trace-out.jsonl')]; print(f'lines {len(ids)}, unique ids {len(set(ids))}')" > "$OUT/$run/verdict.txt"
  python3 "$HERE/analyze.py" "$OUT/$run/trace" > "$OUT/$run/timeline.txt" 2>&1
done
[ "${START_HOG:-1}" = 1 ] && kill $HOG
