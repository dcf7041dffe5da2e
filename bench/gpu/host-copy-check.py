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


def heavy(k, m=a):
    """k big matmuls queued on m's card (about 1.75 ms each on an H200)."""
    x = m
    for _ in range(k):
        x = x @ m
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
result = {"heavy_s": heavy_s, "host_copy_wait_s": host_copy_wait_s, "plain_tolist_wait_s": plain_wait_s,
          "values_ok": got == plain, "gpu": torch.cuda.get_device_name(0)}

# Two cards (a worker given two devices): one HostCopy of a result on cuda:1, made behind 40
# big matmuls there, and one on cuda:0; both must arrive with the right values.
if torch.cuda.device_count() >= 2:
    dev1 = torch.device("cuda:1")
    b = torch.randn(8192, 8192, device=dev1, dtype=torch.float16)
    heavy(2, b)  # first use of this card's kernels: load them before anything is timed
    torch.cuda.synchronize(dev1)
    x = heavy(40, b)
    late = (torch.arange(1 << 20, device=dev1) * 3) + (x[0, 0] * 0).long()  # behind the matmuls
    early = torch.arange(64, device=dev) * 5
    t = time.perf_counter()
    far, near = HostCopy(late, early).wait()
    two_card_wait_s = time.perf_counter() - t
    two_ok = far.tolist() == [3 * i for i in range(1 << 20)] and near.tolist() == [5 * i for i in range(64)]
    result.update({"two_cards_wait_s": two_card_wait_s, "two_cards_values_ok": two_ok})
    # Values only: on the 2× H200 host cuda:1's queue had drained (two_cards_wait_s 3–5 ms)
    # before wait() was called, so the timing cannot tell one event from one per card.
    ok = ok and two_ok

result["verdict"] = "PASS" if ok else "FAIL"
print(json.dumps(result))
sys.exit(0 if ok else 1)
