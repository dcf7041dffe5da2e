"""Reads the `gpupool devices --json` snapshots taken during a run and checks that every
gpupool worker PID holds memory on exactly one card: the one its worker id names."""
import glob
import json
import sys

out = sys.argv[1]
seen = {}  # pid -> set of device keys
workers = {}
for f in sorted(glob.glob(f"{out}/devices-during-*.json")):
    for dev in json.load(open(f)):
        for p in dev.get("processes", []):
            if p.get("ours"):
                seen.setdefault(p["pid"], set()).add(dev["key"])
                workers[p["pid"]] = p.get("worker")
ok = bool(seen)
for pid, keys in sorted(seen.items()):
    w = workers[pid] or "?"
    expected = w.split("/")[1] if "/" in w else "?"
    good = keys == {expected}
    ok &= good
    print(f"pid {pid} worker {w}: seen on {sorted(keys)}; assigned {expected}: {'OK' if good else 'WRONG'}")
print("PINNING VERIFIED" if ok else "PINNING NOT VERIFIED")
