"""Fatal error on the GPU host: a worker that triggers a real sticky CUDA error is recycled and
its items complete. Run through bench/gpu/fatal-check.sh; writes one JSON under --out.

For each mode (assert: a device-side assert from an out-of-range index; illegal: an illegal
memory access through a bad view):
1. Probe, in a plain process: trigger the error, then try one more CUDA call. Sticky means the
   second call fails too; the SDK's classify() must say "fatal" for both.
2. `gpupool run` over --items inputs, one of them poison. Checks: the poison item ends as one
   failed line after max_attempts, with the CUDA error in its message; every other item is done
   once with the right output; the worker was recycled (restarts counted, workers exited with
   status 70, outputs come from more than one worker process).

Rehearse on a CPU with --devices cpu (the worker then raises the CUDA message as a RuntimeError).
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

from gpupool_cli import ROOT, gpupool_cli

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "fatal-worker.py")
EXPECTED = {"assert": "device-side assert triggered", "illegal": "an illegal memory access was encountered"}

PROBE = r"""
import importlib.util, json, sys, torch
import gpupool
spec = importlib.util.spec_from_file_location("fatal_worker", sys.argv[1])
fw = importlib.util.module_from_spec(spec); spec.loader.exec_module(fw)
device = torch.device("cuda:0")
torch.ones(1, device=device).add(1).item()  # a working context first
res = {}
try:
    fw.TRIGGERS[sys.argv[2]](torch, device)
    res["first"] = None
except Exception as e:
    res["first"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0]); res["first_kind"] = gpupool.classify(e)
try:
    torch.ones(1, device=device).add(1).item()
    res["after"] = None
except Exception as e:
    res["after"] = "%s: %s" % (type(e).__name__, str(e).splitlines()[0]); res["after_kind"] = gpupool.classify(e)
res["sticky"] = res["first"] is not None and res["after"] is not None
print(json.dumps(res))
"""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT", "/tmp/out"))
    p.add_argument("--devices", default="0")
    p.add_argument("--modes", default="assert,illegal")
    p.add_argument("--items", type=int, default=3000)
    p.add_argument("--poison-at", type=int, default=1234)
    p.add_argument("--max-attempts", type=int, default=3)
    p.add_argument("--cli", default=None)
    return p.parse_args()


def probe(args, mode):
    env = dict(os.environ, CUDA_DEVICE_ORDER="PCI_BUS_ID", CUDA_VISIBLE_DEVICES=args.devices.split(",")[0],
               PYTHONPATH=os.path.join(ROOT, "sdk", "python"))
    r = subprocess.run([sys.executable, "-c", PROBE, WORKER, mode], env=env, capture_output=True, text=True, timeout=120)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "probe exited %s: %s" % (r.returncode, r.stderr[-2000:])}


def run_mode(args, work, mode):
    items = os.path.join(work, mode + "-items.jsonl")
    with open(items, "w") as f:
        for i in range(args.items):
            f.write(json.dumps({"seed": i, "poison": mode} if i == args.poison_at else {"seed": i}) + "\n")
    cfg = os.path.join(work, mode + ".yaml")
    with open(cfg, "w") as f:
        f.write("models:\n  fatal:\n")
        f.write("    command: %s\n" % json.dumps([sys.executable, WORKER]))
        f.write("    devices: %s\n" % json.dumps(args.devices))
        f.write("    batch: { max: 32, timeout: 5ms }\n")
        f.write("    max_attempts: %d\n" % args.max_attempts)
        f.write("    restart: { backoff: 100ms }\n")
    out = os.path.join(work, mode + "-out.jsonl")
    t0 = time.time()
    r = subprocess.run(gpupool_cli(args.cli) + ["run", "-c", cfg, "-i", items, "-o", out, "--fresh", "--progress", "none", "--json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    wall = time.time() - t0
    try:
        summary = json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        summary = None

    lines = [json.loads(line) for line in open(out)] if os.path.exists(out) else []
    ids = [rec["id"] for rec in lines]
    failed = [rec for rec in lines if "error" in rec]
    poison_id = args.poison_at + 1  # ids are 1-based line numbers
    wrong = [rec for rec in lines if "output" in rec and rec["output"]["sum"] != 1000 * (rec["id"] - 1) + 499500]
    pids = sorted({rec["output"]["pid"] for rec in lines if "output" in rec})
    logs = glob.glob(os.path.join(work, ".gpupool", mode + "-out.jsonl", "logs", "*.log"))
    exits70 = sum(open(p).read().count("exited with code 70") for p in logs)
    crashed = [line for line in r.stderr.splitlines() if "worker crashed" in line]
    poison = failed[0] if len(failed) == 1 else None
    checks = {
        "poison_is_the_one_failed_line": [rec["id"] for rec in failed] == [poison_id],
        "poison_error_names_the_cuda_error": poison is not None and EXPECTED[mode] in poison["error"]["message"],
        "every_other_item_done_once_and_right": len(ids) == args.items and len(set(ids)) == args.items and not wrong,
        "worker_recycled": (summary or {}).get("workerRestarts", 0) >= 1 and exits70 >= 1 and len(pids) >= 2,
        "exit_status_1_for_one_failed_item": r.returncode == 1,
    }
    return {
        "mode": mode, "wall_s": round(wall, 1), "exit": r.returncode, "summary": summary,
        "lines": len(lines), "unique_ids": len(set(ids)), "wrong_outputs": len(wrong),
        "failed_lines": failed[:3], "worker_pids": pids, "worker_exits_with_status_70": exits70,
        "crash_reports_on_stderr": len(crashed), "first_crash_report": crashed[0][:500] if crashed else None,
        "checks": checks, "pass": all(checks.values()),
        "stderr_tail": r.stderr[-1500:] if not all(checks.values()) else None,
    }


def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="fatal-check-")
    began = time.time()
    result = {"args": vars(args), "modes": {}}
    try:
        import torch
        result["torch"] = torch.__version__
        if args.devices != "cpu":
            env_dev = args.devices.split(",")[0]
            result["device"] = "card %s" % env_dev
    except Exception as e:
        result["torch"] = "not importable here: %s" % e
    for mode in args.modes.split(","):
        entry = {}
        if args.devices != "cpu":
            entry["probe"] = probe(args, mode)
        entry["run"] = run_mode(args, work, mode)
        entry["pass"] = entry["run"]["pass"] and (args.devices == "cpu" or (
            entry["probe"].get("sticky") is True and entry["probe"].get("first_kind") == "fatal"))
        result["modes"][mode] = entry
        print("fatal-check: %s: %s" % (mode, "pass" if entry["pass"] else "FAIL"), file=sys.stderr)
    result["pass"] = all(m["pass"] for m in result["modes"].values())
    result["wall_s"] = round(time.time() - began, 1)
    with open(os.path.join(args.out, "fatal-check.json"), "w") as f:
        json.dump(result, f, indent=1)
    brief = {m: {"pass": e["pass"], "probe": e.get("probe"), "checks": e["run"]["checks"], "wall_s": e["run"]["wall_s"],
                 "restarts": (e["run"]["summary"] or {}).get("workerRestarts"), "failed_lines": e["run"]["failed_lines"]}
             for m, e in result["modes"].items()}
    print(json.dumps({"pass": result["pass"], "wall_s": result["wall_s"], "modes": brief}, indent=1)[:8000])
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
