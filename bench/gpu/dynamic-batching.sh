#!/bin/bash
# On the GPU host: dynamic batching through `gpupool serve`. The same PyTorch encoder
# (bench/gpu/encoder_worker.py: 12 layers, d=768, fp16, 64 tokens per input), one worker per
# card, served twice: with batch.max 64 / batch.timeout 5ms (single-input requests from many
# clients batched together by the scheduler), then with batch.max 1. The same closed-loop load
# against both: CONNECTIONS clients, each sending one single-input request at a time.
# Target (issue 4): dynamic batching gives >= 3x the throughput with p95 latency no worse.
# Writes $OUT/dynamic-batching.json (the verdict), per-run load results, metrics and logs.
# Usage (from the bundle folder): bash bench/gpu/dynamic-batching.sh
# Knobs: DEVICES (all), CONNECTIONS (128), RUN_SECONDS (20), WARMUP (5), LAYERS (12), SEQ (64).
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
HERE=$(pwd)
DEVICES=${DEVICES:-all}
CONNECTIONS=${CONNECTIONS:-128}
RUN_SECONDS=${RUN_SECONDS:-20}
WARMUP=${WARMUP:-5}
LAYERS=${LAYERS:-12}
SEQ=${SEQ:-64}
BODY=$(python3 -c "import json; print(json.dumps({'inputs': [{'ids': [(7 * i) % 30000 for i in range($SEQ)]}]}, separators=(',', ':')))")

fetch() { node -e "fetch(process.argv[1]).then(r => r.text()).then(t => process.stdout.write(t))" "$1"; }

# serve_and_load NAME BATCH_MAX: start the server, wait until ready, run the load, keep metrics.
serve_and_load() {
  local name=$1 max=$2 dir=/tmp/dynbatch-$1
  rm -rf "$dir"; mkdir -p "$dir"
  cat > "$dir/gpupool.yaml" <<EOF
models:
  encoder:
    command: [python3, $HERE/bench/gpu/encoder_worker.py]
    devices: $DEVICES
    workers_per_device: 1
    batch: { max: $max, timeout: 5ms, in_flight: 2 }
    env: { LAYERS: $LAYERS, SEQ: $SEQ }
EOF
  ( cd "$dir" && exec node "$HERE/gpupool.mjs" serve -c gpupool.yaml --port 0 --json --state-dir state ) > "$dir/events.jsonl" 2> "$OUT/serve-$name.stderr" &
  local pid=$!
  for _ in $(seq 1 240); do
    grep -q '"event":"ready"' "$dir/events.jsonl" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.5
  done
  if ! grep -q '"event":"ready"' "$dir/events.jsonl"; then
    echo "gpupool serve ($name) did not become ready; see $OUT/serve-$name.stderr" >&2
    kill $pid 2>/dev/null
    return 1
  fi
  local url
  url=$(head -1 "$dir/events.jsonl" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
  fetch "$url/v1/workers" > "$OUT/workers-$name-start.json"
  node "$HERE/bench/serve-load.mjs" --url "$url" --path /v1/models/encoder/infer --body "$BODY" \
    --connections "$CONNECTIONS" --seconds "$RUN_SECONDS" --warmup "$WARMUP" > "$OUT/load-$name.json"
  fetch "$url/metrics" > "$OUT/metrics-$name.txt"
  fetch "$url/v1/workers" > "$OUT/workers-$name.json"
  fetch "$url/v1/devices" > "$OUT/devices-$name.json"
  kill -TERM $pid; wait $pid
}

nvidia-smi -L > "$OUT/nvidia-smi-L.txt" 2>&1
start=$(date +%s)
serve_and_load dynamic 64 || exit 1
serve_and_load batch1 1 || exit 1
echo "wall: $(( $(date +%s) - start )) s" > "$OUT/dynamic-batching-time.txt"

python3 - "$OUT" "$CONNECTIONS" "$RUN_SECONDS" "$LAYERS" "$SEQ" "$DEVICES" <<'PY' | tee "$OUT/dynamic-batching.json"
import json, re, sys
out, connections, seconds, layers, seq, devices = sys.argv[1:]

def run(name):
    load = json.load(open(f"{out}/load-{name}.json"))
    metrics = open(f"{out}/metrics-{name}.txt").read()
    def total(metric):
        return sum(float(v) for v in re.findall(r"^%s\{[^}]*\} (\S+)$" % metric, metrics, re.M))
    batches = total("gpupool_batch_size_count")
    return {
        "requestsPerSecond": round(load["requestsPerSecond"], 1),
        "latencyMs": load["latencyMs"],
        "statuses": load["statuses"],
        "meanBatchSize": round(total("gpupool_batch_size_sum") / batches, 2) if batches else None,
        "workers": len(json.load(open(f"{out}/workers-{name}.json"))),
    }

dyn, one = run("dynamic"), run("batch1")
ratio = dyn["requestsPerSecond"] / one["requestsPerSecond"] if one["requestsPerSecond"] else float("inf")
verdict = {
    "command": "bash bench/gpu/dynamic-batching.sh",
    "model": f"PyTorch TransformerEncoder, {layers} layers, d=768, 12 heads, fp16, {seq} tokens per input (bench/gpu/encoder_worker.py)",
    "devices": devices,
    "gpus": open(f"{out}/nvidia-smi-L.txt").read().strip().splitlines(),
    "load": f"closed loop, {connections} connections, one single-input request at a time each, {seconds} s measured after warm-up",
    "dynamic": {"batch": {"max": 64, "timeout": "5ms"}, **dyn},
    "batch1": {"batch": {"max": 1}, **one},
    "throughputRatio": round(ratio, 2) if ratio != float("inf") else None,
    "p95": {"dynamicMs": dyn["latencyMs"]["p95"], "batch1Ms": one["latencyMs"]["p95"]},
    "targets": {
        "throughputAtLeast3x": ratio >= 3,
        "p95NoWorse": one["latencyMs"]["p95"] is None or (dyn["latencyMs"]["p95"] is not None and dyn["latencyMs"]["p95"] <= one["latencyMs"]["p95"]),
    },
}
print(json.dumps(verdict, indent=2))
PY
