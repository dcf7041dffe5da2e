#!/bin/bash
# On the GPU host: a folder input through ResNet-50 on the card, killed with kill -9 mid-run,
# then grown by files named after the last one (as pages named by date come), then run again:
# every file must be in the output exactly once, none failed. Then a file named before the
# others must be refused (exit 10: positions would shift). Writes everything under $OUT.
# Usage (from the bundle folder): bash bench/gpu/folder-resume-check.sh [files=30000] [added=3000]
# A dry run on CPU from the repository: G="node dist/cli/main.js" CONFIG=examples/noop/gpupool.yaml bash …
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
G=${G:-node gpupool.mjs}
CONFIG=${CONFIG:-examples/torch/gpupool.yaml}
FILES=${1:-30000}; ADDED=${2:-3000}
DIR=/tmp/folder-check; rm -rf "$DIR"; mkdir -p "$DIR/pages"
python3 - "$DIR/pages" 0 "$FILES" <<'PY'
import os, sys
d, start, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(start, start + n):
    sub = os.path.join(d, f"batch-{i // 1000:03d}")
    os.makedirs(sub, exist_ok=True)
    open(os.path.join(sub, f"page-{i:07d}.png"), "w").close()
PY
ARGS=(run -c "$CONFIG" -i "$DIR/pages" -o "$DIR/out.jsonl" --progress none --json)
# 1. Killed with kill -9 once 2,000 results are out.
$G "${ARGS[@]}" > "$OUT/run1.json" 2> "$OUT/run1.err" &
RUN=$!
for _ in $(seq 1 600); do
  sleep 0.1
  [ -f "$DIR/out.jsonl" ] && [ "$(wc -l < "$DIR/out.jsonl")" -ge 2000 ] && break
done
kill -9 $RUN; wait $RUN 2>/dev/null
sleep 2  # the workers see their channel close and exit
echo "killed with $(wc -l < "$DIR/out.jsonl") lines out" | tee "$OUT/steps.txt"
# 2. Grown after its last file, then run again: resumes and runs the new files.
python3 - "$DIR/pages" "$FILES" "$ADDED" <<'PY'
import os, sys
d, start, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(start, start + n):
    sub = os.path.join(d, f"batch-{i // 1000:03d}")
    os.makedirs(sub, exist_ok=True)
    open(os.path.join(sub, f"page-{i:07d}.png"), "w").close()
PY
( time $G "${ARGS[@]}" > "$OUT/run2.json" 2> "$OUT/run2.err" ) 2> "$OUT/run2-time.txt"
echo "grown run: exit $?" | tee -a "$OUT/steps.txt"
# 3. A file named before the others: refused, output untouched.
before=$(md5sum < "$DIR/out.jsonl")
touch "$DIR/pages/aaa-first.png"
$G "${ARGS[@]}" > "$OUT/run3.json" 2> "$OUT/run3.err"
echo "shifted run: exit $? (10 expected)" | tee -a "$OUT/steps.txt"
[ "$before" = "$(md5sum < "$DIR/out.jsonl")" ] && echo "output untouched" | tee -a "$OUT/steps.txt"
python3 - "$DIR" "$((FILES + ADDED))" <<'PY' | tee "$OUT/verdict.txt"
import json, os, sys
d, want = sys.argv[1], int(sys.argv[2])
ids, errors = [], 0
for line in open(os.path.join(d, "out.jsonl")):
    rec = json.loads(line)
    ids.append(rec["id"])
    errors += "error" in rec
files = {os.path.join(r, f) for r, _, fs in os.walk(os.path.join(d, "pages")) for f in fs if f != "aaa-first.png"}
ok = len(ids) == want and len(set(ids)) == want and set(ids) == files and errors == 0
print(f"lines {len(ids)}, distinct ids {len(set(ids))}, files {len(files)}, errors {errors}: {'EVERY FILE EXACTLY ONCE' if ok else 'FAILED'}")
PY
