"""One row per batch (or per timed chunk of the direct loop): start, end, items, cost.

Every method writes the same rows, so one piece of code (metrics.py) turns them into
throughput, makespan and the ideal. Timestamps are time.time(): comparable across processes.
A gpupool worker appends them to a file every half second and at teardown; the harness keeps
them in memory and sends them back.
"""
import time


class BatchLog:
    def __init__(self, path=None, flush_every=0.5):
        self.path = path
        self.rows = []
        self.flush_every = flush_every
        self._last_flush = time.time()

    def add(self, t0, t1, items, cost):
        self.rows.append((t0, t1, items, cost))
        if self.path is not None and t1 - self._last_flush >= self.flush_every:
            self.flush()

    def flush(self):
        if self.path is None or not self.rows:
            return
        with open(self.path, "a") as f:
            f.write("".join("%.6f %.6f %d %d\n" % r for r in self.rows))
        self.rows = []
        self._last_flush = time.time()


def read_log(path):
    rows = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4:  # a line cut by a kill mid-write is skipped
                rows.append((float(parts[0]), float(parts[1]), int(parts[2]), int(parts[3])))
    return rows


def first_start(path):
    """The start of a worker's first batch, or None before it has flushed one."""
    try:
        with open(path) as f:
            parts = f.readline().split()
        return float(parts[0]) if len(parts) == 4 else None
    except OSError:
        return None
