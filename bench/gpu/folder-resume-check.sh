#!/bin/bash
# On the GPU host: a folder input through ResNet-50 on the card, killed with kill -9 mid-run,
# then grown by files named after the last one (as pages named by date come), then run again:
# every file must be in the output exactly once, none failed. Then files named before the others
# are added and one file removed and one renamed (positions shift): the run resumes by file name
# and is killed again mid-run; run once more, every file of the folder is in the output exactly
# once, and the two gone files' lines stay. Writes everything under $OUT.
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
# 3. Changed in the middle: files added before all others (aaa-early/, which sorts first), one that
# ran removed, one that ran renamed. Resumed by file name, killed with kill -9 mid-run, run again.
python3 - "$DIR/pages" "$ADDED" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(os.path.join(d, "aaa-early"), exist_ok=True)
for i in range(n):
    open(os.path.join(d, "aaa-early", f"page-{i:07d}.png"), "w").close()
PY
rm "$DIR/pages/batch-000/page-0000005.png"
mv "$DIR/pages/batch-001/page-0001000.png" "$DIR/pages/batch-001/page-0001000-renamed.png"
lines_before=$(wc -l < "$DIR/out.jsonl")
$G "${ARGS[@]}" > "$OUT/run3.json" 2> "$OUT/run3.err" &
RUN=$!
for _ in $(seq 1 600); do
  sleep 0.1
  [ "$(wc -l < "$DIR/out.jsonl")" -ge $((lines_before + ADDED / 3)) ] && break
done
kill -9 $RUN; wait $RUN 2>/dev/null
sleep 2
echo "changed in the middle, resumed by file name, killed with $(wc -l < "$DIR/out.jsonl") lines out" | tee -a "$OUT/steps.txt"
$G "${ARGS[@]}" > "$OUT/run4.json" 2> "$OUT/run4.err"
echo "run after the kill: exit $?" | tee -a "$OUT/steps.txt"
$G status "$DIR/out.jsonl" > "$OUT/status.txt" 2>&1
python3 - "$DIR" <<'PY' | tee "$OUT/verdict.txt"
import json, os, sys
d = sys.argv[1]
ids, errors = [], 0
for line in open(os.path.join(d, "out.jsonl")):
    rec = json.loads(line)
    ids.append(rec["id"])
    errors += "error" in rec
files = {os.path.join(r, f) for r, _, fs in os.walk(os.path.join(d, "pages")) for f in fs}
# The results of the removed file and of the renamed one under its old name stay in the output.
gone = {os.path.join(d, "pages", "batch-000", "page-0000005.png"), os.path.join(d, "pages", "batch-001", "page-0001000.png")}
ok = len(ids) == len(set(ids)) and set(ids) == files | gone and errors == 0
print(f"lines {len(ids)}, distinct ids {len(set(ids))}, files now {len(files)} + 2 gone, errors {errors}: {'EVERY FILE EXACTLY ONCE' if ok else 'FAILED'}")
PY
