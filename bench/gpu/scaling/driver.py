#!/usr/bin/env python3
"""Scaling benchmark (issue 7): on N = 1, 2, 4 cards, for ResNet-50, a skewed-length encoder and
a dispatch-bound MLP, measure side by side in one run:

  direct   the limit: the model called back to back on data already on the card, one process per card
  scheme1  the input split into N equal shards, one process per card
  scheme2  a multiprocessing queue fed by this process, one consumer process per card
  gpupool  `gpupool run` with one worker per card (gpupool_worker.py), JSONL descriptors on stdin;
           the worker splits predict into launch/collect, so the SDK overlaps a batch's sync with the next
  gpupool_predict  the same with the worker's plain predict (one batch at a time, as the schemes run)

With --bracket the direct loop runs again after gpupool's phases of each N (`direct_after`), and the
limit is the mean of the two, so a card whose rate drifts during the run shows as a spread between
them instead of as a swing of gpupool's share.

    python3 driver.py --out DIR [--ns 1,2,4] [--budget 480] [--bracket] [--smoke]

Writes DIR/scaling-results.json after every phase (so a cut-off run keeps what it measured),
then DIR/scaling-report.md and DIR/scaling.png. A phase that fails records its error and the
run goes on. See README.md beside this file for what each number means.
"""
import argparse
import json
import multiprocessing as mp
import os
import platform
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
METHODS = ("direct", "scheme1", "scheme2", "gpupool", "gpupool_predict")
GPUPOOL_METHODS = ("gpupool", "gpupool_predict")
# Per-card rates used to size a phase when the direct loop of that workload failed.
FALLBACK_ITEMS_PER_CARD = {"resnet50": 14000, "encoder": 11000, "mlp": 3000000}
T0 = time.time()


def log(msg):
    print("[%7.1fs %s] %s" % (time.time() - T0, time.strftime("%H:%M:%S"), msg), flush=True)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.environ.get("OUT", "/tmp/scaling-out"))
    ap.add_argument("--ns", default=None, help="card counts, e.g. 1,2,4 (default: 1,2,4 up to the cards present)")
    ap.add_argument("--workloads", default="resnet50,encoder,mlp")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--budget", type=float, default=480.0, help="seconds for the whole run; phases shrink to fit")
    ap.add_argument("--direct-s", type=float, default=3.0, help="timed window of the direct loop")
    ap.add_argument("--bracket", action="store_true",
                    help="run the direct loop again after gpupool's phases; the limit is the mean of both")
    ap.add_argument("--work-s", type=float, default=5.0, help="input sized for this many seconds at the direct rate")
    ap.add_argument("--smoke", action="store_true", help="tiny models on the CPU, N cards played by N processes")
    ap.add_argument("--work-dir", default="/tmp/gpupool-scaling")
    ap.add_argument("--cli", default=None, help="gpupool CLI (default: gpupool.mjs of the bundle, else dist/cli/main.js)")
    return ap.parse_args()


def find_cli(explicit):
    for path in ([explicit] if explicit else [os.path.join(ROOT, "gpupool.mjs"), os.path.join(ROOT, "dist", "cli", "main.js")]):
        if path and os.path.exists(path):
            return path
    return None


class Bench:
    def __init__(self, args):
        self.args = args
        self.smoke = args.smoke
        os.makedirs(args.out, exist_ok=True)
        shutil.rmtree(args.work_dir, ignore_errors=True)
        os.makedirs(args.work_dir)
        import workloads
        from samplers import Nvml, Sampler
        self.W = workloads
        self.nvml = Nvml()
        self.cards = (max(int(n) for n in args.ns.split(",")) if args.ns else 2) if self.smoke else len(self.nvml.handles)
        if not self.smoke and self.cards == 0:
            self.cards = _count_with_smi()
        if args.ns:
            self.ns = [int(n) for n in args.ns.split(",")]
        else:
            self.ns = [n for n in (1, 2, 4) if n <= self.cards]
        # Order: one card first (the scaling reference), then the most cards, then the rest, so a
        # run cut short loses the middle.
        self.ns = sorted(set(self.ns))
        self.ns = self.ns[:1] + self.ns[-1:] + self.ns[1:-1] if len(self.ns) > 2 else self.ns
        self.workloads = [w for w in args.workloads.split(",") if w]
        self.methods = [m for m in args.methods.split(",") if m]
        self.cli = find_cli(args.cli)
        self.sampler = Sampler(self.nvml)
        self.sampler.start()
        self.deadline = T0 + args.budget
        self.scale = 1.0
        # Start-up of the harness (model loads) and of gpupool; a bracketing harness starts again.
        self.overhead_per_block = (25.0 + len(self.workloads) * 16.0) + (20.0 if self.bracketing() else 0.0)
        self.results = {
            "meta": {
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "command": " ".join([os.path.basename(sys.executable)] + sys.argv),
                "host": platform.node(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "gpus": self.nvml.names,
                "nvml": self.nvml.problem or "ok",
                "smoke": self.smoke,
                "ns": self.ns,
                "budget_s": args.budget,
                "direct_s": args.direct_s,
                "bracket": args.bracket,
                "work_s": args.work_s,
                "sizes": workloads.sizes(),
                "gpupool_cli": self.cli,
            },
            "phases": [],
        }
        self.json_path = os.path.join(args.out, "scaling-results.json")

    # ---- bookkeeping -----------------------------------------------------------------------

    def save(self):
        from report import derive, write_markdown
        try:
            self.results["derived"] = derive(self.results)
        except Exception:
            self.results["derived"] = {"error": traceback.format_exc()}
        tmp = self.json_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.results, f, indent=1)
        os.replace(tmp, self.json_path)
        try:
            write_markdown(self.results, os.path.join(self.args.out, "scaling-report.md"))
        except Exception:
            log("markdown failed: " + traceback.format_exc().splitlines()[-1])

    def record(self, rec):
        self.results["phases"].append(rec)
        self.save()
        if rec.get("error"):
            log("  %s %s N=%d FAILED: %s" % (rec["workload"], rec["method"], rec["n"], rec["error"].strip().splitlines()[-1][:300]))
        else:
            extra = ""
            if rec["workload"] == "encoder":
                extra = "  %s tokens/s  makespan %.2f s" % (_fmt(rec["cost_per_s"]), rec["makespan_s"])
            log("  %s %s N=%d: %s items/s over %.1f s window (%d items)%s%s%s%s" % (
                rec["workload"], rec["method"], rec["n"], _fmt(rec["items_per_s"]), rec["window_s"], rec["items"], extra,
                "  GPU %.0f%%" % rec["gpu_util"] if rec.get("gpu_util") is not None else "",
                "  CPU cores: root %.2f, below it %.2f" % (rec["cpu_root_cores"], rec["cpu_tree_cores"]) if rec.get("cpu_root_cores") is not None else "",
                "  (capped)" if rec.get("capped") else ""))

    def finish_rec(self, rec, workers, n):
        """Fill rec with metrics of the rows of its workers and the samples of its time."""
        from metrics import by_worker_summary, cpu_cores, gpu_util, peak_rss
        s = by_worker_summary(workers)
        if s is None:
            rec["error"] = rec.get("error") or "no batch was completed"
            return rec
        rec.update(s)
        rec["gpu_util"], rec["gpu_util_per_card"] = gpu_util(self.sampler.samples, n, s["first_start"], s["last_end"])
        rec["rss_root_peak"], rec["rss_tree_peak"] = peak_rss(self.sampler.samples, rec["t_launch"], time.time())
        rec["cpu_root_cores"], rec["cpu_tree_cores"] = cpu_cores(self.sampler.samples, s["first_start"], s["last_end"])
        return rec

    def direct_rate(self, workload, n):
        for p in self.results["phases"]:
            if p["workload"] == workload and p["method"] == "direct" and p["n"] == n and not p.get("error"):
                return p["items_per_s"]
        for p in self.results["phases"]:  # another N's direct loop, scaled
            if p["workload"] == workload and p["method"] == "direct" and not p.get("error"):
                return p["items_per_s"] / p["n"] * n
        return FALLBACK_ITEMS_PER_CARD[workload] * n

    def cap_for(self, workload):
        """Processing time after which a phase is stopped: the encoder must finish (its makespan
        is the point), the others are throughput only."""
        t = self.args.work_s * self.scale
        return t * (3.0 if workload == "encoder" else 1.5)

    # ---- the run ---------------------------------------------------------------------------

    def run(self):
        log("scaling benchmark: cards=%d ns=%s workloads=%s methods=%s smoke=%s cli=%s" % (
            self.cards, self.ns, self.workloads, self.methods, self.smoke, self.cli))
        log("GPUs: %s (NVML: %s)" % (self.nvml.names or "-", self.nvml.problem or "ok"))
        for k, n in enumerate(self.ns):
            if n > self.cards:
                log("N=%d skipped: only %d cards" % (n, self.cards))
                continue
            if not self.plan_block(len(self.ns) - k):
                self.results.setdefault("skipped", []).append({"n": n, "why": "out of time budget"})
                log("N=%d skipped: out of time budget" % n)
                continue
            t = time.time()
            try:
                self.block(n)
            except Exception:
                log("block N=%d broke: %s" % (n, traceback.format_exc()))
            actual = time.time() - t
            self.overhead_per_block = max(10.0, actual - self.scale * self.variable_per_block())
            log("N=%d done in %.0f s" % (n, actual))
        self.sampler.stop()
        self.save()
        try:
            from report import write_plot
            write_plot(self.results, os.path.join(self.args.out, "scaling.png"))
        except Exception:
            log("plot failed: " + traceback.format_exc())
        shutil.rmtree(self.args.work_dir, ignore_errors=True)
        log("wrote %s, scaling-report.md, scaling.png" % self.json_path)
        with open(os.path.join(self.args.out, "scaling-report.md")) as f:
            print(f.read())

    def variable_per_block(self):
        """Seconds of a block that scale with the phase lengths (at scale 1)."""
        a = self.args
        per_w = 0.0
        if "direct" in self.methods:
            per_w += a.direct_s * (2 if self.bracketing() else 1)
        per_w += sum(1 for m in ("scheme1", "scheme2") + GPUPOOL_METHODS if m in self.methods) * a.work_s * 1.3
        return per_w * len(self.workloads)

    def bracketing(self):
        return self.args.bracket and "direct" in self.methods and any(m in self.methods for m in GPUPOOL_METHODS)

    def plan_block(self, blocks_left):
        left = self.deadline - time.time() - 10.0
        per_block = left / blocks_left
        var = self.variable_per_block()
        scale = (per_block - self.overhead_per_block) / var if var else 1.0
        self.scale = max(0.25, min(1.0, scale))
        log("budget: %.0f s left for %d block(s); phases at %.0f%% length (overhead ~%.0f s/block)" % (
            left, blocks_left, self.scale * 100, self.overhead_per_block))
        return per_block >= self.overhead_per_block + 0.2 * var or blocks_left == len(self.ns)

    def block(self, n):
        log("=== N=%d ===" % n)
        harness_methods = [m for m in ("direct", "scheme1", "scheme2") if m in self.methods]
        if harness_methods:
            h = Harness(self, n)
            try:
                h.start()
                for w in self.workloads:
                    for m in harness_methods:
                        self.harness_phase(h, w, m, n)
            finally:
                h.stop()
        for w in self.workloads:
            for m in GPUPOOL_METHODS:
                if m in self.methods:
                    self.gpupool_phase(w, n, m)
        if self.bracketing():
            # The card again, now that gpupool has run: a fresh harness, as the first direct loop had.
            h = Harness(self, n)
            try:
                h.start()
                for w in self.workloads:
                    self.harness_phase(h, w, "direct_after", n)
            finally:
                h.stop()

    def new_rec(self, workload, method, n, **kw):
        return {"workload": workload, "method": method, "n": n, "t_launch": time.time(), "error": None, "scale": self.scale, **kw}

    def out_of_time(self, rec):
        """Past the budget (plus a margin): record the phase as not run rather than overrun the host's limit."""
        if time.time() < self.deadline + 30:
            return False
        rec["error"] = "not run: out of time budget"
        rec["wall_s"] = 0.0
        self.record(rec)
        return True

    def harness_phase(self, h, w, method, n):
        count = max(4 * n, int(self.direct_rate(w, n) * self.args.work_s * self.scale))
        rec = self.new_rec(w, method, n)
        if self.out_of_time(rec):
            return
        log("%s %s N=%d%s" % (w, method, n, "" if method.startswith("direct") else " (%d items)" % count))
        self.sampler.root = os.getpid()
        try:
            if h.broken:
                raise RuntimeError("harness not usable: " + h.broken)
            if method in ("direct", "direct_after"):
                params = {"seconds": self.args.direct_s * self.scale}
                if w == "mlp" and n == 1 and method == "direct":
                    params["full_batch_s"] = 1.0
                replies = h.phase("direct", w, params, timeout=params["seconds"] + 90)
            elif method == "scheme1":
                cap = self.cap_for(w)
                bounds = [count * r // n for r in range(n + 1)]
                per = [{"start": bounds[r], "count": bounds[r + 1] - bounds[r], "cap_s": cap,
                        "out": os.path.join(self.args.work_dir, "s1-%d.jsonl" % r)} for r in range(n)]
                replies = h.phase("shard", w, per, timeout=cap + 90)
                rec["planned_items"] = count
            else:
                cap = self.cap_for(w)
                stop = threading.Event()
                q = h.queues[w]
                producer = threading.Thread(target=_produce, args=(self.W, q, w, count, n, stop), daemon=True)
                producer.start()
                try:
                    per = {"cap_s": cap, "out": None}
                    per = [dict(per, out=os.path.join(self.args.work_dir, "s2-%d.jsonl" % r)) for r in range(n)]
                    replies = h.phase("queue", w, per, timeout=cap + 90)
                finally:
                    stop.set()
                    producer.join(5)
                rec["planned_items"] = count
            errors = [r.get("error") for r in replies if r.get("error")]
            if errors:
                rec["error"] = errors[0]
            rec["capped"] = any(r.get("capped") for r in replies)
            self.finish_rec(rec, [r["rows"] for r in replies], n)
            full = [r.get("full_batch_rows") for r in replies if r.get("full_batch_rows")]
            if full:
                from metrics import by_worker_summary
                rec["full_batch_items_per_s"] = by_worker_summary(full)["items_per_s"]
        except Exception:
            rec["error"] = traceback.format_exc()
        finally:
            self.sampler.root = None
            for r in range(n):
                for prefix in ("s1", "s2"):
                    _remove(os.path.join(self.args.work_dir, "%s-%d.jsonl" % (prefix, r)))
        rec["wall_s"] = time.time() - rec["t_launch"]
        self.record(rec)

    # Resident gpupool workers per card. The MLP's calls are so short that one Python worker, not the
    # card, is the bound (31-49% of the direct loop with one, 110-128% with three on 1x H100/H200:
    # BENCHMARKS.md), so gpupool runs it as docs/config.md tells a user to (workers_per_device: 3);
    # SCALING_GPUPOOL_WORKERS_PER_DEVICE=1 gives the one-worker figure.
    WORKERS_PER_DEVICE = {"resnet50": 1, "encoder": 1, "mlp": 3}

    def gpupool_config(self, w, n, logs, method):
        batch = {"resnet50": {"max": self.W.RESNET["batch"], "timeout": "5ms", "in_flight": 2},
                 "encoder": {"max": self.W.ENCODER["max_items"], "max_cost": self.W.ENCODER["max_tokens"], "timeout": "5ms", "in_flight": 2},
                 "mlp": {"max": self.W.MLP["batch"], "timeout": "5ms", "in_flight": 2}}[w]
        env = {"SCALING_WORKLOAD": w, "SCALING_LOG_DIR": logs}
        if method == "gpupool_predict":
            env["SCALING_PLAIN_PREDICT"] = "1"
        if self.smoke:
            env.update({"SCALING_SMOKE": "1", "OMP_NUM_THREADS": "1"})
        model = {"command": [sys.executable, os.path.join(HERE, "gpupool_worker.py")],
                 "devices": "cpu" if self.smoke else ",".join(str(i) for i in range(n)),
                 "workers_per_device": n if self.smoke else self.WORKERS_PER_DEVICE[w],
                 "batch": batch, "env": env}
        if w == "encoder":
            model["cost_field"] = "tokens"
        if os.environ.get("SCALING_GPUPOOL_WORKERS_PER_DEVICE"):  # e.g. 2: two Python threads launching on each card
            model["workers_per_device"] = int(os.environ["SCALING_GPUPOOL_WORKERS_PER_DEVICE"])
        if os.environ.get("SCALING_GPUPOOL_CPUS"):  # `auto`: each worker on its own cores near its card
            model["cpus"] = os.environ["SCALING_GPUPOOL_CPUS"]
        return {"models": {"bench": model}}

    def gpupool_phase(self, w, n, method):
        from batch_log import first_start, read_log
        count = max(4 * n, int(self.direct_rate(w, n) * self.args.work_s * self.scale))
        cap = self.cap_for(w)
        rec = self.new_rec(w, method, n, planned_items=count)
        if self.out_of_time(rec):
            return
        log("%s %s N=%d (%d items)" % (w, method, n, count))
        d = os.path.join(self.args.work_dir, "gp-%s-%s-%d" % (method, w, n))
        logs = os.path.join(d, "logs")
        os.makedirs(logs)
        gen = node = None
        try:
            if not self.cli:
                raise RuntimeError("gpupool CLI not found (gpupool.mjs in the bundle, or dist/cli/main.js after npm run build)")
            cfg = os.path.join(d, "gpupool.yaml")
            with open(cfg, "w") as f:
                config = self.gpupool_config(w, n, logs, method)
                rec["workers_per_device"] = config["models"]["bench"]["workers_per_device"]
                json.dump(config, f, indent=1)  # JSON is YAML
            gen = subprocess.Popen([sys.executable, os.path.join(HERE, "gen_items.py"), w, "0", str(count)],
                                   stdout=subprocess.PIPE, cwd=HERE)
            out_f = open(os.path.join(d, "stdout.txt"), "wb")
            err_f = open(os.path.join(d, "stderr.txt"), "wb")
            node = subprocess.Popen(["node", self.cli, "run", "-c", cfg, "-i", "-", "-o", os.path.join(d, "out.jsonl"), "--fresh",
                                     "--progress", "plain", "--json", "--state-dir", os.path.join(d, "state")],
                                    stdin=gen.stdout, stdout=out_f, stderr=err_f, start_new_session=True)
            gen.stdout.close()  # gpupool holds the only read end: it sees EOF when the generator is done
            self.sampler.root = node.pid
            interrupted_at = None
            hard_limit = 90 + cap + 45  # start-up (model load) + processing + drain
            while node.poll() is None:
                time.sleep(0.25)
                now = time.time()
                if interrupted_at is None:
                    starts = [s for s in (first_start(os.path.join(logs, f)) for f in os.listdir(logs)) if s]
                    if starts and now - min(starts) > cap:
                        log("  cap of %.1f s of processing reached: draining gpupool (SIGINT)" % cap)
                        node.send_signal(signal.SIGINT)
                        interrupted_at = now
                        rec["capped"] = True
                    elif now - rec["t_launch"] > hard_limit:
                        raise TimeoutError("gpupool did not finish within %.0f s" % hard_limit)
                elif now - interrupted_at > 45:
                    raise TimeoutError("gpupool did not drain within 45 s of SIGINT")
            out_f.close()
            err_f.close()
            rc = node.returncode
            rec["exit_code"] = rc
            summary = _last_json_line(os.path.join(d, "stdout.txt"))
            if summary:
                rec["gpupool_summary"] = summary
            if rc not in (0, 130):
                rec["error"] = "gpupool run exited %s:\n%s" % (rc, _tail(os.path.join(d, "stderr.txt")))
            workers = [read_log(os.path.join(logs, f)) for f in sorted(os.listdir(logs))]
            self.finish_rec(rec, workers, n)
            rec["workers_expected"] = n
        except Exception:
            rec["error"] = traceback.format_exc() + "\n" + _tail(os.path.join(d, "stderr.txt"))
        finally:
            self.sampler.root = None
            if node is not None and node.poll() is None:
                _kill_group(node)
            if gen is not None:
                if gen.poll() is None:
                    gen.kill()
                gen.wait()
            shutil.rmtree(d, ignore_errors=True)
        rec["wall_s"] = time.time() - rec["t_launch"]
        self.record(rec)


def _produce(W, q, workload, count, n, stop):
    """Scheme 2's producer: batches of descriptors into a bounded queue, then one stop mark per consumer."""
    def put(x):
        while not stop.is_set():
            try:
                q.put(x, timeout=0.2)
                return True
            except queue.Full:
                pass
        return False

    for batch in W.batches(workload, 0, count):
        if not put(batch):
            return
    for _ in range(n):
        if not put(None):
            return


class Harness:
    """N harness processes (harness.py), one per card, with the barrier and the queues they share."""

    def __init__(self, bench, n):
        self.bench, self.n = bench, n
        self.ctx = mp.get_context("spawn")
        self.procs, self.conns = [], []
        self.broken = None
        self.phase_no = 0

    def start(self):
        import harness
        ctx = self.ctx
        self.barrier = ctx.Barrier(self.n)
        self.results = ctx.Queue()
        self.queues = {w: ctx.Queue(maxsize=4 * self.n) for w in self.bench.workloads}
        t = time.time()
        for r in range(self.n):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=harness.main, args=(r, r, self.bench.smoke, child, self.barrier, self.queues, self.results), daemon=True)
            p.start()
            self.procs.append(p)
            self.conns.append(parent)
        ready = {}
        deadline = time.time() + 240
        while len(ready) < self.n:
            try:
                kind, rank, info = self.results.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                self.broken = "only %d of %d harness processes started within 240 s" % (len(ready), self.n)
                log(self.broken)
                return
            if kind == "ready":
                ready[rank] = info
        self.ready = ready
        failed = {w: tb for info in ready.values() for w, tb in info["failed"].items()}
        log("harness: %d processes ready in %.1f s (%s, torch %s)%s" % (
            self.n, time.time() - t, ready[0]["device"], ready[0]["torch"],
            "; failed to load: %s" % ", ".join(sorted(failed)) if failed else ""))
        self.bench.results["meta"].setdefault("torch", ready[0]["torch"])
        self.bench.results["meta"].setdefault("harness_load_s", {})[str(self.n)] = time.time() - t

    def phase(self, kind, workload, params, timeout):
        """Send one command to every process (params: one dict for all, or a list per rank);
        return their replies, ordered by rank."""
        dead = [r for r, p in enumerate(self.procs) if not p.is_alive()]
        if dead:
            self.broken = "harness process(es) %s died" % dead
            raise RuntimeError(self.broken)
        self.phase_no += 1
        for r, conn in enumerate(self.conns):
            p = params[r] if isinstance(params, list) else params
            conn.send((kind, workload, dict(p, phase=self.phase_no)))
        replies = {}
        deadline = time.time() + timeout
        while len(replies) < self.n:
            try:
                kind_, rank, info = self.results.get(timeout=max(0.1, deadline - time.time()))
            except queue.Empty:
                self.broken = "phase %s/%s timed out after %.0f s" % (kind, workload, timeout)
                raise TimeoutError(self.broken)
            if kind_ == "done" and info.get("phase") == self.phase_no:  # a late reply of a timed-out phase is dropped
                replies[rank] = info
        self.barrier.reset()
        return [replies[r] for r in range(self.n)]

    def stop(self):
        for conn in self.conns:
            try:
                conn.send(("quit",))
            except Exception:
                pass
        for p in self.procs:
            p.join(15)
            if p.is_alive():
                p.kill()
                p.join(5)
        for q in getattr(self, "queues", {}).values():
            q.cancel_join_thread()
            q.close()


def _count_with_smi():
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
        return sum(1 for line in out.splitlines() if line.startswith("GPU "))
    except Exception:
        return 0


def _kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group this benchmark started: gpupool and its workers
    except ProcessLookupError:
        pass
    proc.wait()


def _last_json_line(path):
    try:
        with open(path) as f:
            lines = [line for line in f.read().splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None


def _tail(path, n=3000):
    try:
        with open(path, "rb") as f:
            data = f.read()
        return data[-n:].decode("utf-8", "replace")
    except OSError:
        return ""


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _fmt(x):
    return "{:,.0f}".format(x) if x is not None else "-"


def main():
    args = parse_args()
    if args.smoke:
        os.environ["SCALING_SMOKE"] = "1"
    sys.path.insert(0, HERE)
    Bench(args).run()


if __name__ == "__main__":
    main()
