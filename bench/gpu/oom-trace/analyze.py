"""Reads the timelines traced_worker.py wrote (a folder of <pid>.jsonl) and prints, per worker and
per BUCKET seconds (1), where the time went: items done, batches and their mean size, out-of-memory
batches, seconds predicting batches that succeeded and that failed, seconds freeing device
memory, and seconds idle (waiting for gpupool); then each worker's batches in order, runs of one
size merged.
    python3 analyze.py TRACE_DIR [BUCKET]"""
import json
import os
import sys
from collections import defaultdict

folder = sys.argv[1]
bucket = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
workers = {}
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name)) as f:
        workers[name.split(".")[0]] = sorted((json.loads(line) for line in f if line.strip()), key=lambda e: e["t0"])
start = min(e["t0"] for events in workers.values() for e in events)

for pid, events in workers.items():
    rows = defaultdict(lambda: defaultdict(float))
    busy_until = None
    for e in events:
        if e["e"] == "setup":
            busy_until = e["t1"]
            continue
        b = int((e["t0"] - start) // bucket)
        row = rows[b]
        took = e["t1"] - e["t0"]
        if e["e"] == "predict":
            if e["outcome"] == "ok":
                row["items"] += e["n"]; row["batches"] += 1; row["ok_s"] += took
            else:
                row["ooms"] += 1; row["oom_s"] += took; row["oom_items"] += e["n"]
        elif e["e"] == "free":
            row["free_s"] += took; row["frees"] += 1
        elif e["e"] == "release":
            row["releases"] += 1
        if busy_until is not None and e["e"] != "release":
            row["idle_s"] += max(0.0, e["t0"] - busy_until)
        busy_until = max(busy_until or 0, e["t1"])
    setup = [e for e in events if e["e"] == "setup"]
    print(f"worker {pid}: setup {setup[0]['t0'] - start:.2f}..{setup[0]['t1'] - start:.2f} s" if setup else f"worker {pid}")
    print(f"  {'t (s)':>7} {'items':>7} {'batches':>7} {'mean':>6} {'ooms':>5} {'ok s':>6} {'oom s':>6} {'free s':>6} {'idle s':>6} {'releases':>8}")
    totals = defaultdict(float)
    for b in sorted(rows):
        r = rows[b]
        for k, v in r.items(): totals[k] += v
        mean = r["items"] / r["batches"] if r["batches"] else 0
        print(f"  {b * bucket:7.1f} {int(r['items']):7d} {int(r['batches']):7d} {mean:6.1f} {int(r['ooms']):5d} {r['ok_s']:6.2f} {r['oom_s']:6.2f} {r['free_s']:6.2f} {r['idle_s']:6.2f} {int(r['releases']):8d}")
    print(f"  {'total':>7} {int(totals['items']):7d} {int(totals['batches']):7d} {totals['items'] / max(1, totals['batches']):6.1f} {int(totals['ooms']):5d} {totals['ok_s']:6.2f} {totals['oom_s']:6.2f} {totals['free_s']:6.2f} {totals['idle_s']:6.2f} {int(totals['releases']):8d}")

for pid, events in workers.items():
    print(f"\nworker {pid}, batches in order (t: size outcome x count, ms each on average):")
    run = None
    def flush():
        if run:
            print(f"  {run['t'] - start:8.3f}: {run['n']:5d} {run['outcome']:>18} x{run['count']:<4d} {1000 * run['took'] / run['count']:8.1f} ms")
    for e in events:
        if e["e"] == "predict":
            if run and run["n"] == e["n"] and run["outcome"] == e["outcome"]:
                run["count"] += 1; run["took"] += e["t1"] - e["t0"]
            else:
                flush()
                run = {"t": e["t0"], "n": e["n"], "outcome": e["outcome"], "count": 1, "took": e["t1"] - e["t0"]}
        elif e["e"] in ("free", "release"):
            flush(); run = None
            print(f"  {e['t0'] - start:8.3f}: {e['e']} {1000 * (e['t1'] - e['t0']):.1f} ms" + (f", {e['reserved'] / 2**30:.1f} GiB still reserved" if "reserved" in e else ""))
    flush()
