"""A worker on a simulated card that allocates as PyTorch's caching allocator does, with its costs.

bench/shared-card/run.sh uses it with ALLOCATOR=caching (the default worker,
sdk/python/tests/fixtures/shared_memory_worker.py, holds its largest batch and charges nothing).
The card is a folder (SHARED_DEVICE_DIR) of DEVICE_CAPACITY units, shared by the worker processes;
each publishes what it holds there. A batch needs the sum of its items' "mem" (default 1):

- it reuses the smallest cached block large enough (PyTorch splits a larger free block);
- else it allocates a new block beside what it caches, if the card has room, at MALLOC_MS per unit;
- else it frees its own cached blocks and tries again (PyTorch does so before raising), and runs
  out of memory if the others' blocks still leave no room. A neighbour's cache is never freed
  by this worker's need: only `release` (FREE_MS) or the neighbour's own out-of-memory frees it.

So a worker whose batches grow caches the old size's block beside the new one, as on a GPU, and
one asked to empty its cache pays for allocating the next batch anew. The card's compute is one
lock held for COMPUTE_MS per unit, so workers sharing it take turns, as kernels on one GPU do.
Each answer says what its batch needed (`batch_memory`, as the SDK measures a PyTorch model),
unless BATCH_MEMORY=0. Defaults are from an H100 trace of 256 MiB items (bench/results/gpu-oom-trace-1xh100-2026-12-07/).
"""
import fcntl
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
import gpupool  # noqa: E402

DIR = os.environ["SHARED_DEVICE_DIR"]
CAPACITY = int(os.environ.get("DEVICE_CAPACITY", "100"))
MALLOC_S = float(os.environ.get("MALLOC_MS", "1")) / 1000
FREE_S = float(os.environ.get("FREE_MS", "5")) / 1000
COMPUTE_S = float(os.environ.get("COMPUTE_MS", "0.12")) / 1000
OOM_S = float(os.environ.get("OOM_MS", "10")) / 1000
TRACE = os.environ.get("SIM_TRACE") == "1"
REPORT_MEMORY = os.environ.get("BATCH_MEMORY", "1") != "0"


class CachingAllocator(gpupool.Worker):
    def setup(self, device):
        self.path = os.path.join(DIR, str(os.getpid()))
        self.blocks = []
        self.publish()
        self.gpu = open(os.path.join(DIR, "compute.lock"), "a")
        self.alloc_lock = open(os.path.join(DIR, "alloc.lock"), "a")
        self.stats = {"batches": 0, "items": 0, "ooms": 0, "releases": 0, "largest": 0}

    def publish(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(sum(self.blocks)))
        os.replace(tmp, self.path)

    def others(self):
        mine = os.path.basename(self.path)
        total = 0
        for name in os.listdir(DIR):
            if name != mine and name.isdigit():
                with open(os.path.join(DIR, name)) as f:
                    total += int(f.read() or 0)
        return total

    def allocate(self, need):
        if any(b >= need for b in self.blocks):
            return
        # Checked and taken under one lock, as a device allocation is: two workers must not both
        # take the last free units.
        fcntl.flock(self.alloc_lock, fcntl.LOCK_EX)
        try:
            others = self.others()
            if need + sum(self.blocks) + others > CAPACITY:
                self.blocks = []  # PyTorch frees its own cached blocks before it gives up
                self.publish()
            fits = need + sum(self.blocks) + others <= CAPACITY
            if fits:
                self.blocks.append(need)
                self.publish()
        finally:
            fcntl.flock(self.alloc_lock, fcntl.LOCK_UN)
        if not fits:
            self.stats["ooms"] += 1
            time.sleep(OOM_S)
            raise gpupool.OutOfMemory("needs %d, the others hold %d of %d" % (need, others, CAPACITY))
        time.sleep(MALLOC_S * need)

    def predict(self, batch):
        need = sum(item.get("mem", 1) for item in batch)
        try:
            self.allocate(need)
        except gpupool.OutOfMemory:
            self.trace("batch %d oom (cache %s)" % (len(batch), self.blocks))
            raise
        self.trace("batch %d ok (cache %s)" % (len(batch), self.blocks))
        self.need = need
        fcntl.flock(self.gpu, fcntl.LOCK_EX)
        try:
            time.sleep(COMPUTE_S * need)
        finally:
            fcntl.flock(self.gpu, fcntl.LOCK_UN)
        self.stats["batches"] += 1
        self.stats["items"] += len(batch)
        self.stats["largest"] = max(self.stats["largest"], len(batch))
        return batch

    if REPORT_MEMORY:
        def batch_memory(self):
            # What the SDK's PyTorch meter reports on a GPU: the batch's own peak (BATCH_MEMORY=0: none).
            return self.need

    def release_device_memory(self):
        self.stats["releases"] += 1
        self.trace("release (cache %s)" % self.blocks)
        if self.blocks:
            time.sleep(FREE_S)
        fcntl.flock(self.alloc_lock, fcntl.LOCK_EX)
        try:
            self.blocks = []
            self.publish()
        finally:
            fcntl.flock(self.alloc_lock, fcntl.LOCK_UN)

    def trace(self, what):
        # SIM_TRACE=1: each batch and release in the worker's log, to see how a limit was learned.
        if TRACE:
            sys.stderr.write("%.3f %s\n" % (time.monotonic(), what))

    def teardown(self):
        os.remove(self.path)
        # One line in the worker's log, which run.sh prints: what this worker did.
        sys.stderr.write("caching allocator stats: %s\n" % " ".join("%s %d" % kv for kv in self.stats.items()))


if __name__ == "__main__":
    gpupool.serve(CachingAllocator)
