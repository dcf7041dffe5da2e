"""One line per result file of a folder: python3 summarize.py FOLDER (dispatch-bench, latency-trace and serve-bench JSON)."""
import glob
import json
import os
import sys

for f in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    r = json.load(open(f))
    name = os.path.basename(f)[:-5]
    if "closedLoop" in r:  # serve-bench
        closed = ", ".join("%d conns %.1fk req/s" % (c["connections"], c["requestsPerSecond"] / 1000) for c in r["closedLoop"])
        lone = r["lowLoad"]["batchMax1"]["http"]["latencyMs"]
        print("%-22s %s | one request at a time (batch.max 1) p50 %.3f ms" % (name, closed, lone["p50"]))
    elif "fastLegsUs" in r:  # latency-trace
        print("%-22s 64-item p50 %d us p99 %d us | legs of the fast ones (us): %s" % (name, r["p50Us"], r["p99Us"], r["fastLegsUs"]))
    else:  # dispatch-bench
        g = lambda k, f2="itemsPerSecond": r.get(k, {}).get(f2)
        print("%-22s batched %s, 32 in flight %s, single %s items/s | 64-item p50 %s p99 %s | 1-item p50 %s p99 %s | after 2 ms idle p50 %s p99 %s (us)" % (
            name, g("batched"), g("batchedDeep"), g("single"), g("latency", "p50Us"), g("latency", "p99Us"),
            g("latencyOne", "p50Us"), g("latencyOne", "p99Us"), g("latencyIdle", "p50Us"), g("latencyIdle", "p99Us")))
