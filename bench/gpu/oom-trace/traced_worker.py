"""examples/torch/resnet_worker.py with a timeline: each predict (start, end, size, outcome), each
release gpupool asks for, and each time the SDK frees device memory (after an out-of-memory or a
release) are appended to $TRACE_DIR/<pid>.jsonl with wall-clock times, for analyze.py. Used by
trace.sh to see where the time of a run that learns its batch size goes. BATCH_MEMORY=0: its
answers say nothing of what batches take (no `batch_memory`), as before the SDK measured it."""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "torch"))

import gpupool  # noqa: E402
import gpupool.worker as sdk_worker  # noqa: E402
from resnet_worker import ResNet  # noqa: E402

_trace = open(os.path.join(os.environ["TRACE_DIR"], "%d.jsonl" % os.getpid()), "a", buffering=1 << 16)


def _event(kind, t0, **fields):
    _trace.write(json.dumps({"e": kind, "t0": t0, "t1": time.time(), **fields}) + "\n")


_free = sdk_worker.free_device_memory


def _traced_free():
    t0 = time.time()
    _free()
    torch = sys.modules.get("torch")
    reserved = torch.cuda.memory_reserved() if torch is not None and torch.cuda.is_initialized() else 0
    _event("free", t0, reserved=reserved)


sdk_worker.free_device_memory = _traced_free  # the SDK calls it by this module global


class TracedResNet(ResNet):
    def setup(self, device):
        t0 = time.time()
        super().setup(device)
        _event("setup", t0)

    def predict(self, batch):
        t0 = time.time()
        try:
            out = super().predict(batch)
        except BaseException as e:
            _event("predict", t0, n=len(batch), outcome=type(e).__name__)
            raise
        _event("predict", t0, n=len(batch), outcome="ok", reserved=self.torch.cuda.memory_reserved())
        return out

    def release_device_memory(self):
        _event("release", time.time())

    if os.environ.get("BATCH_MEMORY") == "0":
        def batch_memory(self):
            # The A/B's other side: gpupool is not told what batches take (the SDK's PyTorch meter is not used).
            return None

    def teardown(self):
        _trace.flush()


if __name__ == "__main__":
    gpupool.serve(TracedResNet)
