"""Background sampling while phases run: GPU utilisation through NVML (pynvml, from the
nvidia-ml-py package) and the resident memory of a process tree read from /proc."""
import os
import threading
import time

_PAGE = os.sysconf("SC_PAGE_SIZE")


def _children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])  # the name may hold spaces
        kids.setdefault(ppid, []).append(int(name))
    return kids


def _rss(pid):
    try:
        with open("/proc/%d/statm" % pid) as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return 0


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid):
    """User + system CPU seconds of one process (0 once it is gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14 and 15 of stat)


def tree_rss(root):
    """(RSS of root alone, RSS of root and all its descendants) in bytes, then (CPU seconds of
    root alone, CPU seconds of its descendants): where a phase spends its host CPU."""
    kids = _children_map()
    total, below_cpu, stack = 0, 0.0, [root]
    while stack:
        pid = stack.pop()
        total += _rss(pid)
        if pid != root:
            below_cpu += _cpu_s(pid)
        stack.extend(kids.get(pid, ()))
    return _rss(root), total, _cpu_s(root), below_cpu


class Nvml:
    def __init__(self):
        self.handles, self.names, self.problem = [], [], None
        try:
            import pynvml
            pynvml.nvmlInit()
            self.nv = pynvml
            for i in range(pynvml.nvmlDeviceGetCount()):
                h = pynvml.nvmlDeviceGetHandleByIndex(i)
                self.handles.append(h)
                name = pynvml.nvmlDeviceGetName(h)
                self.names.append(name.decode() if isinstance(name, bytes) else name)
        except Exception as e:  # no pynvml or no driver (the CPU smoke test)
            self.problem = "%s: %s" % (type(e).__name__, e)

    def utilisation(self):
        out = []
        for h in self.handles:
            try:
                out.append(self.nv.nvmlDeviceGetUtilizationRates(h).gpu)
            except Exception:
                out.append(None)
        return out


class Sampler(threading.Thread):
    """Every `interval` s: GPU utilisation of every card, and RSS of the tree under `root`
    (set per phase). Samples are (t, [util per card], root_rss, tree_rss, root_cpu_s, below_cpu_s)."""

    def __init__(self, nvml, interval=0.2):
        super().__init__(daemon=True)
        self.nvml, self.interval = nvml, interval
        self.samples = []
        self.root = None
        self._stop_event = threading.Event()

    def run(self):
        while not self._stop_event.is_set():
            t = time.time()
            util = self.nvml.utilisation()
            root = self.root
            rss = tree_rss(root) if root else (None, None, None, None)
            self.samples.append((t, util) + tuple(rss))
            self._stop_event.wait(max(0.0, self.interval - (time.time() - t)))

    def stop(self):
        self._stop_event.set()

    def between(self, t0, t1):
        return [s for s in self.samples if t0 <= s[0] <= t1]
