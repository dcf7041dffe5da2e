"""GPU check of gpupool.HostCopy: the copy queued in launch arrives without waiting for the
work launched after it, where a plain .tolist() waits for everything queued on the stream.

    python3 bench/gpu/host-copy-check.py      # on the GPU host; prints one JSON line, exit 0 if PASS
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk", "python"))
import torch  # noqa: E402
from gpupool import HostCopy  # noqa: E402

dev = torch.device("cuda:0")
a = torch.randn(8192, 8192, device=dev, dtype=torch.float16)


def heavy(k):
    x = a
    for _ in range(k):
        x = x @ a
        x = x / x.abs().amax()
    return x


heavy(2)
torch.cuda.synchronize()
t = time.perf_counter()
heavy(40)
torch.cuda.synchronize()
heavy_s = time.perf_counter() - t

# Batch k: a small result. Then batch k+1: 40 big matmuls. Then collect k, both ways.
small = torch.arange(64, device=dev)
copy = HostCopy(small * 2)
heavy(40)
t = time.perf_counter()
got = copy.wait().tolist()
host_copy_wait_s = time.perf_counter() - t
torch.cuda.synchronize()

late = small * 2
heavy(40)
t = time.perf_counter()
plain = late.tolist()
plain_wait_s = time.perf_counter() - t

ok = got == plain == [2 * i for i in range(64)] and host_copy_wait_s < 0.1 * heavy_s < plain_wait_s
print(json.dumps({"heavy_s": heavy_s, "host_copy_wait_s": host_copy_wait_s, "plain_tolist_wait_s": plain_wait_s,
                  "values_ok": got == plain, "verdict": "PASS" if ok else "FAIL", "gpu": torch.cuda.get_device_name(0)}))
sys.exit(0 if ok else 1)
