"""Out of memory on the GPU host: does the learned batch limit reach the throughput of the best
fixed batch size? Run through bench/gpu/oom-sweep.sh; writes one JSON (and a PNG) under --out.

1. A hog (examples/torch/hog.py) holds all but --hog-leave-gib of the card, like another tenant.
2. Sweep: `gpupool run` with batch.max fixed at 8, 16, 32, … (doubling until a size runs out of
   memory, then bisecting between the last size that fit and the first that did not); each run
   is measured over a short window once results flow, then drained with SIGINT. A size counts
   only if no batch ran out of memory (the limit stayed fixed).
3. Adaptive: `gpupool run` with batch.max far too large (4096) under the same hog, over enough
   items for about --adaptive-s seconds at the best fixed rate; sampled every 0.5 s: output
   lines (throughput), the card's free memory (NVML), and the worker's batch log (the limit).
4. Checks: every item done once, no failed line, throughput >= 90% of the best fixed size,
   reached within 30 s of starting `gpupool run`; and the memory guard (memory.reserve with the
   hog present) never stalls dispatch even when free memory falls under the reserve.

The same script rehearses on a CPU: --devices cpu --hog-leave-gib 0 --model tiny
--simulate-oom-above N.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from gpupool_cli import ROOT, gpupool_cli

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "oom-sweep-worker.py")
HOG = os.path.join(ROOT, "examples", "torch", "hog.py")
SAMPLE_S = 0.5


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.environ.get("OUT", "/tmp/out"))
    p.add_argument("--devices", default="0", help='gpupool device spec of the card ("0"), or "cpu"')
    p.add_argument("--hog-leave-gib", type=float, default=24.0, help="0: no hog")
    p.add_argument("--mem-per-item-mb", type=int, default=256)
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--model", choices=["resnet50", "tiny"], default="resnet50")
    p.add_argument("--simulate-oom-above", type=int, default=0, help="CPU rehearsal only")
    p.add_argument("--batch-max", type=int, default=4096, help="batch.max of the adaptive run")
    p.add_argument("--reserve", default="2GiB", help="memory.reserve of every run")
    p.add_argument("--sweep-start", type=int, default=8)
    p.add_argument("--bisect-steps", type=int, default=2)
    p.add_argument("--warmup-s", type=float, default=2.0, help="after the first result, before measuring")
    p.add_argument("--window-s", type=float, default=4.0, help="measured window of a fixed run")
    p.add_argument("--adaptive-s", type=float, default=35.0, help="adaptive run length at the best fixed rate")
    p.add_argument("--reach-s", type=float, default=30.0, help="the 90%% must be reached within this")
    p.add_argument("--budget-s", type=float, default=225.0, help="skip bisection steps past this share")
    p.add_argument("--cli", default=None, help="gpupool command (default: node gpupool.mjs in the bundle, else dist)")
    return p.parse_args()


# ---- sampling ------------------------------------------------------------------------------

class LineCounter:
    """Counts the lines of a file that is being appended to, reading only what is new."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.lines = 0

    def count(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.lines
        self.offset += len(data)
        self.lines += data.count(b"\n")
        return self.lines


class FreeMemory:
    """Free memory of one card through NVML (nvidia-ml-py); None on a CPU or without NVML."""

    def __init__(self, devices):
        self.handle = None
        if devices == "cpu":
            return
        try:
            import pynvml
            pynvml.nvmlInit()
            self.nvml = pynvml
            self.handle = pynvml.nvmlDeviceGetHandleByIndex(int(devices.split(",")[0]))
        except Exception as e:  # no NVML here: the timeline goes without free memory
            print("oom-sweep: no NVML (%s): free memory is not sampled" % e, file=sys.stderr)

    def name(self):
        """The card's name (NVML: this process must not create a CUDA context of its own)."""
        if self.handle is None:
            return None
        name = self.nvml.nvmlDeviceGetName(self.handle)
        return name.decode() if isinstance(name, bytes) else name

    def read(self):
        if self.handle is None:
            return None
        try:
            return int(self.nvml.nvmlDeviceGetMemoryInfo(self.handle).free)
        except Exception:
            return None


class Sampler(threading.Thread):
    """Every SAMPLE_S: (seconds since start, output lines, free bytes)."""

    def __init__(self, counter, free, t0):
        super().__init__(daemon=True)
        self.counter, self.free, self.t0 = counter, free, t0
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.samples.append((time.time() - self.t0, self.counter.count(), self.free.read()))
            self.stopped.wait(SAMPLE_S)

    def stop(self):
        self.stopped.set()
        self.join()
        self.samples.append((time.time() - self.t0, self.counter.count(), self.free.read()))


# ---- runs ----------------------------------------------------------------------------------

def write_items(path, count, start=0):
    with open(path, "w") as f:
        step = 100_000
        for lo in range(start, start + count, step):
            f.write("".join('{"seed":%d}\n' % i for i in range(lo, min(start + count, lo + step))))


def write_config(path, args, batch_max, batch_log):
    env = {"MEMORY_PER_ITEM_MB": str(args.mem_per_item_mb), "IMAGE_SIZE": str(args.image_size),
           "BATCH_LOG": batch_log, "SWEEP_MODEL": args.model,
           "SIMULATE_OOM_ABOVE": str(args.simulate_oom_above)}
    with open(path, "w") as f:
        f.write("models:\n  resnet:\n")
        f.write("    command: %s\n" % json.dumps([sys.executable, WORKER]))
        f.write("    devices: %s\n" % json.dumps(args.devices))
        f.write("    batch: { max: %d, timeout: 5ms, in_flight: 2 }\n" % batch_max)
        f.write("    memory: { reserve: %s }\n" % json.dumps(args.reserve))
        f.write("    env: %s\n" % json.dumps(env))


def read_batch_log(path, t0):
    """[(start, end, size, outcome)] with times relative to t0."""
    rows = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 4:
                    rows.append((float(parts[0]) - t0, float(parts[1]) - t0, int(parts[2]), parts[3]))
    except FileNotFoundError:
        pass
    return rows


def start_run(args, work, name, items, batch_max):
    out = os.path.join(work, name + ".jsonl")
    log = os.path.join(work, name + ".batches")
    cfg = os.path.join(work, name + ".yaml")
    write_config(cfg, args, batch_max, log)
    cmd = gpupool_cli(args.cli) + ["run", "-c", cfg, "-i", items, "-o", out, "--fresh", "--progress", "none", "--json"]
    t0 = time.time()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=open(os.path.join(work, name + ".stderr"), "w"), text=True)
    return proc, out, log, cfg, t0


def finish(proc, timeout):
    try:
        stdout, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, _ = proc.communicate()
    try:
        return json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def fixed_run(args, work, items, size, free):
    """Throughput of batch.max = size over a window once results flow; None-rate if it never flowed."""
    name = "fixed-%d" % size
    proc, out, log, _, t0 = start_run(args, work, name, items, size)
    counter = LineCounter(out)
    first = None
    while proc.poll() is None and time.time() - t0 < 180:
        if counter.count() > 0:
            first = time.time() - t0
            break
        time.sleep(0.1)
    rate = free_in_window = None
    if first is not None:
        time.sleep(args.warmup_s)
        a, ta = counter.count(), time.time()
        time.sleep(args.window_s)
        b, tb = counter.count(), time.time()
        rate = (b - a) / (tb - ta)
        free_in_window = free.read()
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)  # drain: in-flight batches finish
    summary = finish(proc, 60)
    batches = read_batch_log(log, t0)
    ooms = sum(1 for b in batches if b[3] == "oom")
    limit = next(iter((summary or {}).get("batchLimits", {}).values()), None)
    fits = rate is not None and ooms == 0 and limit == size
    print("oom-sweep: batch %5d: %s items/s%s" % (size, "%.0f" % rate if rate else "-", "" if fits else " (ran out of memory)" if ooms else " (no result)"), file=sys.stderr)
    return {"batch": size, "items_per_s": rate, "fits": fits, "oom_batches": ooms, "first_result_s": first,
            "final_limit": limit, "exit": proc.returncode, "free_bytes_in_window": free_in_window}


def sweep(args, work, items, free, deadline):
    runs = []
    size, fit, fail = args.sweep_start, None, None
    while size <= args.batch_max:
        r = fixed_run(args, work, items, size, free)
        runs.append(r)
        if not r["fits"]:
            fail = size
            break
        fit = size
        size *= 2
    for _ in range(args.bisect_steps):
        if fit is None or fail is None or fail - fit <= max(2, fit // 8) or time.time() > deadline:
            break
        mid = (fit + fail) // 2
        r = fixed_run(args, work, items, mid, free)
        runs.append(r)
        if r["fits"]:
            fit = mid
        else:
            fail = mid
    return runs


# ---- analysis ------------------------------------------------------------------------------

def rate_at(samples, i, span):
    """Items/s over about the `span` seconds before sample i."""
    t, n, _ = samples[i]
    j = i
    while j > 0 and t - samples[j - 1][0] <= span + SAMPLE_S / 2:
        j -= 1
    if j == i:
        return None
    return (n - samples[j][1]) / (t - samples[j][0])


def timeline(samples, batches):
    rows = []
    for i, (t, n, free) in enumerate(samples):
        here = [b for b in batches if t - SAMPLE_S < b[0] <= t]
        rows.append({
            "t": round(t, 2), "lines": n, "items_per_s": rate_at(samples, i, 1.0),
            "free_bytes": free,
            "batch_max_started": max((b[2] for b in here), default=None),
            "ooms": sum(1 for b in here if b[3] == "oom"),
        })
    return rows


def longest_stall(samples, total):
    """Longest time the output did not grow, between its first line and its last item."""
    longest, last_t, last_n = 0.0, None, 0
    for t, n, _ in samples:
        if n >= total:
            break
        if n > last_n:
            last_t, last_n = t, n
        elif last_t is not None:
            longest = max(longest, t - last_t)
    return longest


def check_output(path, expect):
    ids, failed, bad = set(), [], 0
    with open(path) as f:
        for line in f:
            rec = json.loads(line)
            if rec["id"] in ids:
                bad += 1
            ids.add(rec["id"])
            if "error" in rec:
                failed.append(rec)
    return {"lines_unique": len(ids), "duplicates": bad, "failed": len(failed),
            "failed_examples": failed[:3], "every_item_once": len(ids) == expect and bad == 0}


def plot(path, result):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as e:
        print("oom-sweep: no plot (%s)" % e, file=sys.stderr)
        return None
    tl = result["adaptive"]["timeline"]
    best = result["best_fixed"]["items_per_s"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    ax1.plot([r["t"] for r in tl], [r["items_per_s"] or 0 for r in tl], label="learned limit (batch.max 4096)")
    ax1.axhline(best, color="green", ls="--", label="best fixed batch (%d): %.0f/s" % (result["best_fixed"]["batch"], best))
    ax1.axhline(0.9 * best, color="orange", ls=":", label="90%")
    if result["adaptive"]["reached_90pct_at_s"] is not None:
        ax1.axvline(result["adaptive"]["reached_90pct_at_s"], color="gray", ls=":")
    ax1.set_ylabel("items/s (1 s window)")
    ax1.legend(loc="lower right")
    ax1.set_title("OOM sweep: %s" % result["device"])
    pts = [(r["t"], r["batch_max_started"]) for r in tl if r["batch_max_started"]]
    ax2.step([p[0] for p in pts], [p[1] for p in pts], where="post", label="largest batch sent")
    ooms = [r["t"] for r in tl if r["ooms"]]
    ax2.plot(ooms, [1] * len(ooms), "rx", label="out of memory")
    ax2.set_yscale("log", base=2)
    ax2.set_ylabel("batch size")
    ax2.set_xlabel("seconds since `gpupool run` started")
    free = [(r["t"], r["free_bytes"] / 2**30) for r in tl if r["free_bytes"] is not None]
    if free:
        ax3 = ax2.twinx()
        ax3.plot([f[0] for f in free], [f[1] for f in free], color="purple", alpha=0.4, label="free GiB")
        ax3.set_ylabel("free GiB", color="purple")
    ax2.legend(loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return path


# ---- main ----------------------------------------------------------------------------------

def main():
    args = parse_args()
    os.makedirs(args.out, exist_ok=True)
    began = time.time()
    deadline = began + args.budget_s * 0.5
    work = tempfile.mkdtemp(prefix="oom-sweep-")
    free = FreeMemory(args.devices)
    result = {"args": vars(args), "device": args.devices, "work_dir": work}
    hog = None
    try:
        if args.hog_leave_gib > 0:
            env = dict(os.environ, CUDA_DEVICE_ORDER="PCI_BUS_ID", CUDA_VISIBLE_DEVICES=args.devices.split(",")[0])
            hog = subprocess.Popen([sys.executable, HOG, str(args.hog_leave_gib), "3600"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            line = hog.stdout.readline().strip()
            if not line.startswith("hog holds"):
                raise SystemExit("oom-sweep: the hog did not start: %r" % line)
            result["hog"] = line
            print("oom-sweep: " + line, file=sys.stderr)
        result["free_bytes_with_hog"] = free.read()
        result["device"] = free.name() or args.devices

        items = os.path.join(work, "sweep-items.jsonl")
        write_items(items, 1_000_000)
        runs = sweep(args, work, items, free, deadline)
        fitting = [r for r in runs if r["fits"]]
        if not fitting:
            raise SystemExit("oom-sweep: no fixed batch size ran without running out of memory: %s" % runs)
        best = max(fitting, key=lambda r: r["items_per_s"])
        result["sweep"] = runs
        result["best_fixed"] = {"batch": best["batch"], "items_per_s": best["items_per_s"]}

        n = max(20_000, int(best["items_per_s"] * args.adaptive_s))
        items = os.path.join(work, "adaptive-items.jsonl")
        write_items(items, n)
        proc, out, log, cfg, t0 = start_run(args, work, "adaptive", items, args.batch_max)
        sampler = Sampler(LineCounter(out), free, t0)
        sampler.start()
        summary = finish(proc, args.adaptive_s * 3 + 60)  # a stalled run is killed and shows as such
        sampler.stop()
        samples = sampler.samples
        batches = read_batch_log(log, t0)
        tl = timeline(samples, batches)
        status = subprocess.run(gpupool_cli(args.cli) + ["status", out, "--json"], cwd=ROOT, capture_output=True, text=True)
        try:
            learned = json.loads(status.stdout).get("learnedLimits")
        except ValueError:
            learned = status.stderr.strip()

        target = 0.9 * best["items_per_s"]
        reach = next((r["t"] for r in tl if r["items_per_s"] is not None and r["items_per_s"] >= target), None)
        end95 = next((s[0] for s in samples if s[1] >= 0.95 * n), samples[-1][0])
        steady = None
        if reach is not None and end95 > reach:
            a = next(s for s in samples if s[0] >= reach)
            b = max((s for s in samples if s[0] <= end95), key=lambda s: s[0])
            steady = (b[1] - a[1]) / (b[0] - a[0]) if b[0] > a[0] else None
        after = None
        if end95 > args.reach_s + 3:
            a = next(s for s in samples if s[0] >= args.reach_s)
            b = max((s for s in samples if s[0] <= end95), key=lambda s: s[0])
            after = (b[1] - a[1]) / (b[0] - a[0]) if b[0] > a[0] else None
        out_check = check_output(out, n)
        reserve_bytes = parse_bytes(args.reserve)
        frees = [s[2] for s in samples if s[2] is not None]
        stall = longest_stall(samples, n)
        result["adaptive"] = {
            "items": n, "exit": proc.returncode, "summary": summary, "learned_limits_in_journal": learned,
            "first_result_s": next((s[0] for s in samples if s[1] > 0), None),
            "reached_90pct_at_s": reach,
            "steady_items_per_s": steady, "steady_window_s": [reach, end95],
            "items_per_s_after_reach_s": after,
            "oom_batches": sum(1 for b in batches if b[3] == "oom"),
            "batch_sizes_last_5s": sorted({b[2] for b in batches if b[0] >= samples[-1][0] - 5}),
            "output": out_check, "timeline": tl,
        }
        result["memory_guard"] = {
            "reserve_bytes": reserve_bytes, "free_min_bytes": min(frees) if frees else None,
            "free_fell_under_reserve": bool(frees) and min(frees) < reserve_bytes,
            "longest_stall_s": stall,
        }
        ok_items = out_check["every_item_once"] and out_check["failed"] == 0 and proc.returncode == 0
        result["checks"] = {
            "every_item_done_once_none_failed": ok_items,
            "throughput_ge_90pct_of_best_fixed": steady is not None and steady >= target,
            "reached_within_%gs" % args.reach_s: reach is not None and reach <= args.reach_s,
            "memory_guard_no_stall": stall < 3.0,
        }
        result["pass"] = all(result["checks"].values())
        if not result["memory_guard"]["free_fell_under_reserve"]:
            result["memory_guard"]["note"] = "free memory never fell under the reserve: the guard was not put to the test"
    finally:
        if hog is not None:
            hog.kill()
            hog.wait()
        result["wall_s"] = round(time.time() - began, 1)
        with open(os.path.join(args.out, "oom-sweep.json"), "w") as f:
            json.dump(result, f, indent=1)
    if "adaptive" in result:
        png = plot(os.path.join(args.out, "oom-sweep.png"), result)
        print(json.dumps({k: result[k] for k in ("checks", "pass", "best_fixed", "wall_s")}
                         | {"adaptive": {k: v for k, v in result["adaptive"].items() if k not in ("timeline", "summary")},
                            "memory_guard": result["memory_guard"], "png": png}, indent=1))
    return 0 if result.get("pass") else 1


def parse_bytes(text):
    units = {"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}
    s = str(text).strip().upper()
    num = s.rstrip("KMGIB")
    return int(float(num) * units[s[len(num):]])


if __name__ == "__main__":
    sys.exit(main())
