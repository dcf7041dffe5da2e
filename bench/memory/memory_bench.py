#!/usr/bin/env python3
"""Host memory as the input grows: `gpupool run` (CPU no-op workers) against one asyncio task per item.

    npm run build && python3 bench/memory/memory_bench.py [--sizes 10000,100000,1000000,10000000] [--out FILE]

gpupool: peak RSS of the Node process from the kernel (wait4's ru_maxrss, exact), and of the
whole tree (Node + workers) polled from /proc every 0.1 s. asyncio: the script's own peak
(asyncio_per_item.py). Inputs are JSONL lines {"seed": i} in /tmp; outputs are deleted after
each run. Writes one JSON (default bench/results/memory/memory.json).
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "gpu", "scaling"))
from samplers import tree_rss  # noqa: E402  (same /proc reader as the GPU benchmark)

WORK = "/tmp/gpupool-memory"
CONFIG = """# CPU no-op workers: the dispatch path and the host side, nothing else.
models:
  echo:
    command: [python3, %s]
    devices: cpu
    workers_per_device: 2
    batch: { max: 256, timeout: 5ms }
""" % json.dumps(os.path.join(ROOT, "examples", "noop", "noop-worker.py"))


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), flush=True)


def make_input(n):
    path = os.path.join(WORK, "items-%d.jsonl" % n)
    if not os.path.exists(path):
        with open(path, "w") as f:
            for a in range(0, n, 65536):
                f.write("".join('{"seed":%d}\n' % i for i in range(a, min(a + 65536, n))))
    return path


class TreePoll(threading.Thread):
    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak_tree, self.peak_root, self.done = pid, 0, 0, False

    def run(self):
        while not self.done:
            root, tree = tree_rss(self.pid)[:2]
            self.peak_root, self.peak_tree = max(self.peak_root, root), max(self.peak_tree, tree)
            time.sleep(0.1)


def run_gpupool(cli, config, items, n, node_flags):
    out = os.path.join(WORK, "out-%d.jsonl" % n)
    state = os.path.join(WORK, "state-%d" % n)
    t0 = time.time()
    err_path = os.path.join(WORK, "stderr-%d.txt" % n)
    err_f = open(err_path, "wb")
    proc = subprocess.Popen(["node", *node_flags, cli, "run", "-c", config, "-i", items, "-o", out, "--fresh", "--progress", "none",
                             "--json", "--state-dir", state], stdout=subprocess.PIPE, stderr=err_f)
    poll = TreePoll(proc.pid)
    poll.start()
    # wait4 gives the kernel's peak RSS of the Node process itself (its children are the workers).
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    poll.done = True
    poll.join()
    wall = time.time() - t0
    err_f.close()
    with open(err_path, "rb") as f:
        stderr = f.read()
    os.remove(err_path)
    lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
    summary = json.loads(lines[-1]) if lines else None
    with open(out, "rb") as f:
        out_lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    os.remove(out)
    shutil.rmtree(state, ignore_errors=True)
    rec = {"exit_code": proc.returncode, "wall_s": wall, "items_per_s": n / wall, "output_lines": out_lines,
           "node_peak_rss_bytes": usage.ru_maxrss * 1024, "node_peak_rss_polled_bytes": poll.peak_root,
           "tree_peak_rss_polled_bytes": poll.peak_tree,
           "summary_peak_rss_bytes": summary and summary.get("peakRssBytes")}
    if proc.returncode != 0:
        rec["stderr"] = stderr.decode("utf-8", "replace")[-2000:]
    return rec


def run_asyncio(items, n, rss_limit_mib):
    out = os.path.join(WORK, "async-out-%d.jsonl" % n)
    t0 = time.time()
    proc = subprocess.run([sys.executable, os.path.join(HERE, "asyncio_per_item.py"), items, out,
                           "--rss-limit-mib", str(rss_limit_mib)], capture_output=True, text=True)
    wall = time.time() - t0
    try:
        os.remove(out)
    except OSError:
        pass
    if proc.returncode != 0:
        return {"exit_code": proc.returncode, "stderr": proc.stderr[-2000:], "wall_s": wall}
    rec = json.loads(proc.stdout.strip().splitlines()[-1])
    rec["exit_code"] = 0
    return rec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000,10000000")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results", "memory", "memory.json"))
    ap.add_argument("--asyncio-rss-limit-mib", type=int, default=6144)
    ap.add_argument("--skip", default="", help="gpupool or asyncio")
    ap.add_argument("--node-flags", default="", help="flags for Node before the CLI, e.g. --max-old-space-size=64")
    args = ap.parse_args()
    cli = os.path.join(ROOT, "dist", "cli", "main.js")
    os.makedirs(WORK, exist_ok=True)
    config = os.path.join(WORK, "gpupool.yaml")
    with open(config, "w") as f:
        f.write(CONFIG)
    result = {"command": "python3 bench/memory/memory_bench.py " + " ".join(sys.argv[1:]),
              "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": "%s, %d cores, Python %s, Node %s" % (
                  platform.processor() or platform.machine(), os.cpu_count(), platform.python_version(),
                  subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()),
              "gpupool_config": CONFIG, "node_flags": args.node_flags, "runs": []}
    for n in [int(s) for s in args.sizes.split(",")]:
        items = make_input(n)
        row = {"items": n}
        if "gpupool" not in args.skip:
            log("gpupool run, %d items" % n)
            row["gpupool"] = run_gpupool(cli, config, items, n, args.node_flags.split())
            log("  %s" % json.dumps(row["gpupool"]))
        if "asyncio" not in args.skip:
            log("asyncio task per item, %d items" % n)
            row["asyncio"] = run_asyncio(items, n, args.asyncio_rss_limit_mib)
            log("  %s" % json.dumps(row["asyncio"]))
        result["runs"].append(row)
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    main()
