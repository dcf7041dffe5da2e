"""What each batch takes of device memory, sent to gpupool as ``batch_memory`` in its answer.

gpupool compares it with the worker's usual batches: after one far heavier (a page among small
items) on a device other workers of the model share, it asks the worker to give back what its
cache kept of that batch, before a neighbour's batch runs out of memory beside it
(docs/protocol.md, ``result``).
"""

import operator
import sys


class TorchMeter:
    """The peak PyTorch allocated during the batch, above what it held before: what the batch
    itself took (weights and other resident tensors are in the baseline). Reads of the
    allocator's counters; nothing is synchronised (their cost per batch is not yet measured on a
    GPU)."""

    def __init__(self, backend):
        self.backend = backend  # torch.cuda (also ROCm builds) or torch.npu
        self.base = 0

    def start(self):
        self.backend.reset_peak_memory_stats()
        self.base = self.backend.memory_allocated()

    def stop(self):
        return max(0, self.backend.max_memory_allocated() - self.base)


class HookMeter:
    """A worker's own measure: its ``batch_memory()`` after each predict (the simulated devices
    of the tests; a framework PyTorch's counters do not see)."""

    def __init__(self, hook):
        self.hook = hook

    def start(self):
        pass

    def stop(self):
        return as_bytes(self.hook())


def as_bytes(value):
    """A count of bytes from a reading: an int (a NumPy integer too) or a whole float, not below
    0; None for anything else (a bool, None, a fraction)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if value.is_integer() else None
    else:
        try:
            value = operator.index(value)
        except TypeError:
            return None
    return value if value is not None and value >= 0 else None


def meter_for(instance, default_hook):
    """The meter for a worker after its setup, or None (a CPU worker, nothing to measure).

    ``default_hook``: ``Worker.batch_memory``, which a worker overrides to measure itself.
    Otherwise PyTorch's counters, when setup put a model on a CUDA (or ROCm, or Ascend) device."""
    hook = getattr(type(instance), "batch_memory", default_hook)
    if hook is not default_hook:
        return HookMeter(instance.batch_memory)
    torch = sys.modules.get("torch")  # never imported here: a worker without torch has no device memory to report
    if torch is None:
        return None
    for name in ("cuda", "npu"):
        backend = getattr(torch, name, None)
        try:
            if backend is not None and backend.is_initialized():
                return TorchMeter(backend)
        except Exception:
            continue
    return None
