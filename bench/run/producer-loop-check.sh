#!/bin/bash
# A producer appends JSONL lines to a file in pieces cut at random bytes (so the file often ends
# inside a line), while `gpupool run` runs over the file again and again, some runs killed with
# kill -9 at a random moment: the users' "pages keep coming, a cron job runs the model" case.
# Once the producer is done, one more run. The output must hold every line exactly once, none
# failed, and no run may have been refused (exit 10). Prints the exit statuses seen.
# Usage: bash bench/run/producer-loop-check.sh [lines=20000] [seconds=60]
# From the repository (CPU): G="node dist/cli/main.js" CONFIG=examples/noop/gpupool.yaml bash …
# On the GPU host (bundle folder): OUT=$OUT/producer bash bench/run/producer-loop-check.sh
set -u
OUT=${OUT:-/tmp/producer-loop-check}; mkdir -p "$OUT"
G=${G:-node gpupool.mjs}
CONFIG=${CONFIG:-examples/torch/gpupool.yaml}
LINES=${1:-20000}; SECONDS_=${2:-60}
DIR=$(mktemp -d /tmp/producer-loop.XXXXXX)
: > "$DIR/in.jsonl"
# The producer: lines written in pieces of 1..120 bytes, cut anywhere, spread over SECONDS_.
python3 - "$DIR/in.jsonl" "$LINES" "$SECONDS_" <<'PY' &
import os, random, sys, time
path, n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
data = "".join('{"seed": %d, "pad": "%s"}\n' % (i, "x" * random.randint(0, 40)) for i in range(n)).encode()
fd = os.open(path, os.O_WRONLY | os.O_APPEND)
at, pieces = 0, 0
start = time.time()
while at < len(data):
    step = random.randint(1, 120)
    os.write(fd, data[at:at + step])
    at += step
    pieces += 1
    # Keep to the schedule: sleep when ahead of it.
    ahead = start + seconds * at / len(data) - time.time()
    if ahead > 0:
        time.sleep(ahead)
os.close(fd)
print(f"producer: {n} lines, {len(data)} bytes in {pieces} pieces, {time.time() - start:.1f} s", file=sys.stderr)
PY
PRODUCER=$!
ARGS=(run -c "$CONFIG" -i "$DIR/in.jsonl" -o "$DIR/out.jsonl" --progress none)
: > "$OUT/exits.txt"
runs=0
while kill -0 $PRODUCER 2>/dev/null; do
  runs=$((runs + 1))
  if [ $((RANDOM % 3)) -eq 0 ]; then
    # Killed with kill -9 after 0.2..2 s.
    $G "${ARGS[@]}" >> "$OUT/runs.log" 2>&1 &
    RUN=$!
    sleep "0.$((RANDOM % 9 + 1))"; sleep $((RANDOM % 2))
    kill -9 $RUN 2>/dev/null
    wait $RUN 2>/dev/null
    echo "run $runs: exit $? (killed)" >> "$OUT/exits.txt"
    sleep 1 # its workers see their channel close and exit
  else
    $G "${ARGS[@]}" >> "$OUT/runs.log" 2>&1
    echo "run $runs: exit $?" >> "$OUT/exits.txt"
  fi
done
wait $PRODUCER
$G "${ARGS[@]}" >> "$OUT/runs.log" 2>&1
echo "final run: exit $?" >> "$OUT/exits.txt"
echo "exit statuses of $runs runs and the final one:" | tee "$OUT/verdict.txt"
sed 's/^run [0-9]*: //; s/^final run: /final: /' "$OUT/exits.txt" | sort | uniq -c | tee -a "$OUT/verdict.txt"
python3 - "$DIR/out.jsonl" "$LINES" "$OUT/exits.txt" <<'PY' | tee -a "$OUT/verdict.txt"
import json, sys
path, want, exits = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
ids, errors = [], 0
for line in open(path):
    rec = json.loads(line)
    ids.append(rec["id"])
    errors += "error" in rec
refused = exits.count("exit 10")
final_ok = "final run: exit 0" in exits
ok = len(ids) == want and set(ids) == set(range(1, want + 1)) and errors == 0 and refused == 0 and final_ok
print(f"lines {len(ids)}, distinct ids {len(set(ids))}, errors {errors}, refused runs {refused}, final run exit 0: {final_ok}: {'EVERY LINE EXACTLY ONCE' if ok else 'FAILED'}")
PY
rm -rf "$DIR"
