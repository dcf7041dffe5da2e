#!/bin/bash
# On the GPU host: a JSONL file through ResNet-50 on the card, killed with kill -9 mid-run once its
# reader has reached the end of the file (the journal then holds the file's sha256), then grown by
# lines added after its last, then run again: every line must be in the output exactly once, none
# failed. Then a line edited (and one more added) must be refused (exit 10, with why), the output
# untouched. Writes everything under $OUT.
# Usage (from the bundle folder): bash bench/gpu/jsonl-append-check.sh [lines=30000] [added=3000]
# A dry run on CPU from the repository: G="node dist/cli/main.js" CONFIG=examples/noop/gpupool.yaml bash …
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
G=${G:-node gpupool.mjs}
CONFIG=${CONFIG:-examples/torch/gpupool.yaml}
LINES=${1:-30000}; ADDED=${2:-3000}
DIR=/tmp/jsonl-append-check; rm -rf "$DIR"; mkdir -p "$DIR"
lines() { python3 -c "import sys; [print('{\"seed\": %d}' % i) for i in range(int(sys.argv[1]), int(sys.argv[2]))]" "$1" "$2"; }
lines 0 "$LINES" > "$DIR/in.jsonl"
# --max-pending above the file's lines: the reader reaches its end at once, long before the run does.
ARGS=(run -c "$CONFIG" -i "$DIR/in.jsonl" -o "$DIR/out.jsonl" --progress none --json --max-pending $((LINES + ADDED)))
# 1. Killed with kill -9 once the journal holds the file's digest and 2,000 results are out.
$G "${ARGS[@]}" > "$OUT/run1.json" 2> "$OUT/run1.err" &
RUN=$!
for _ in $(seq 1 600); do
  sleep 0.1
  [ -f "$DIR/out.jsonl" ] && [ "$(wc -l < "$DIR/out.jsonl")" -ge 2000 ] \
    && $G status "$DIR/out.jsonl" --json 2>/dev/null | grep -q '"inputDigest"' && break
done
kill -9 $RUN; wait $RUN 2>/dev/null
sleep 2  # the workers see their channel close and exit
echo "killed with $(wc -l < "$DIR/out.jsonl") lines out" | tee "$OUT/steps.txt"
# 2. Lines added after the last, then run again: resumes and runs the new lines.
lines "$LINES" $((LINES + ADDED)) >> "$DIR/in.jsonl"
$G status "$DIR/out.jsonl" > "$OUT/status-grown.txt" 2>&1
( time $G "${ARGS[@]}" > "$OUT/run2.json" 2> "$OUT/run2.err" ) 2> "$OUT/run2-time.txt"
echo "grown run: exit $?" | tee -a "$OUT/steps.txt"
# 3. Line 1 edited and a line added: refused, output untouched.
before=$(md5sum < "$DIR/out.jsonl")
sed -i '1s/.*/{"seed": -1}/' "$DIR/in.jsonl"; echo '{"seed": -2}' >> "$DIR/in.jsonl"
$G "${ARGS[@]}" > "$OUT/run3.json" 2> "$OUT/run3.err"
echo "edited run: exit $? (10 expected)" | tee -a "$OUT/steps.txt"
grep -o 'why: [^\\]*' "$OUT/run3.err" | tee -a "$OUT/steps.txt"
[ "$before" = "$(md5sum < "$DIR/out.jsonl")" ] && echo "output untouched" | tee -a "$OUT/steps.txt"
python3 - "$DIR/out.jsonl" "$((LINES + ADDED))" <<'PY' | tee "$OUT/verdict.txt"
import json, sys
path, want = sys.argv[1], int(sys.argv[2])
ids, errors = [], 0
for line in open(path):
    rec = json.loads(line)
    ids.append(rec["id"])
    errors += "error" in rec
ok = len(ids) == want and set(ids) == set(range(1, want + 1)) and errors == 0
print(f"lines {len(ids)}, distinct ids {len(set(ids))}, errors {errors}: {'EVERY LINE EXACTLY ONCE' if ok else 'FAILED'}")
PY
