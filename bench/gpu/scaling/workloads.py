"""The three workloads of the scaling benchmark, shared by every method so they do the same work.

Items are small descriptors ({"seed": i}, and "tokens" for the encoder); the code here turns a
batch of descriptors into tensors on the device, runs the model and returns one small output
per item. `Work.direct()` is the limit: the model called back to back on data already on the
card, synchronised only every ~0.2 s to take the time.

Sizes come from the environment so the same code runs tiny on a CPU (SCALING_SMOKE=1).
"""
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sdk", "python"))
from gpupool.host_copy import HostCopy  # noqa: E402  (standalone: no torch, no protocol)

WORKLOADS = ("resnet50", "encoder", "mlp")
SMOKE = os.environ.get("SCALING_SMOKE") == "1"


def _env_int(name, default):
    return int(os.environ.get(name, default))


def _env_float(name, default):
    return float(os.environ.get(name, default))


#: Seconds of unrecorded calls before the direct loop's timed window (see Work._timed_loop).
DIRECT_WARMUP_S = _env_float("SCALING_DIRECT_WARMUP_S", 0.1 if SMOKE else 1.0)


# ---- sizes ---------------------------------------------------------------------------------

RESNET = {"image": _env_int("SCALING_RESNET_IMAGE", 32 if SMOKE else 224),
          "batch": _env_int("SCALING_RESNET_BATCH", 8 if SMOKE else 64)}
ENCODER = {
    "layers": _env_int("SCALING_ENCODER_LAYERS", 2 if SMOKE else 12),
    "d": _env_int("SCALING_ENCODER_D", 64 if SMOKE else 768),
    "heads": 4 if SMOKE else 12,
    "ff": 128 if SMOKE else 3072,
    # Sequence lengths: log-normal (median 64, sigma 1.2) clamped to 16…1024 tokens: 13% of
    # items are 16 tokens, 4% are ≥ 512 and hold a quarter of all tokens (mean ~126).
    "min_len": 4 if SMOKE else 16,
    "max_len": 64 if SMOKE else 1024,
    "median": 8 if SMOKE else 64,
    "sigma": 1.2,
    "max_tokens": _env_int("SCALING_ENCODER_MAX_TOKENS", 1024 if SMOKE else 32768),  # per batch (batch.max_cost)
    "max_items": 256 if SMOKE else 1024,  # batch.max; the token bound is what binds
}
# The MLP is dispatch-bound: at 256 rows a call the card finishes each call before the next one
# is launched (~3M items/s on an H200). Items travel in batches of 4096 (fewer, bigger frames)
# and the model is called on them 256 rows at a time, as in the direct loop.
MLP = {"width": _env_int("SCALING_MLP_WIDTH", 64 if SMOKE else 1024), "layers": 4,
       "model_batch": _env_int("SCALING_MLP_MODEL_BATCH", 32 if SMOKE else 256),
       "batch": _env_int("SCALING_MLP_BATCH", 256 if SMOKE else 4096)}


def sizes():
    return {"resnet50": dict(RESNET), "encoder": dict(ENCODER), "mlp": dict(MLP), "smoke": SMOKE}


# ---- items ---------------------------------------------------------------------------------

_MASK = (1 << 64) - 1
_NORMAL = statistics.NormalDist()


def _unit(i):
    """splitmix64 of i, as a float in (0, 1): item i's length without any shared state."""
    z = (i * 0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    z ^= z >> 31
    return (z + 0.5) / 18446744073709551616.0


def tokens_of(i):
    e = ENCODER
    n = round(e["median"] * math.exp(e["sigma"] * _NORMAL.inv_cdf(_unit(i))))
    return min(e["max_len"], max(e["min_len"], n))


def descriptor(workload, i):
    if workload == "encoder":
        return {"seed": i, "tokens": tokens_of(i)}
    return {"seed": i}


def batch_size(workload):
    return {"resnet50": RESNET["batch"], "encoder": ENCODER["max_items"], "mlp": MLP["batch"]}[workload]


def batches(workload, start, count):
    """Items start…start+count-1 as batches, formed as gpupool forms them: up to batch.max items,
    and for the encoder a running token sum that stays within max_tokens (one item always fits)."""
    end = start + count
    if workload != "encoder":
        size = batch_size(workload)
        for a in range(start, end, size):
            yield [{"seed": i} for i in range(a, min(a + size, end))]
        return
    limit, max_items = ENCODER["max_tokens"], ENCODER["max_items"]
    cur, cost = [], 0
    for i in range(start, end):
        t = tokens_of(i)
        if cur and (cost + t > limit or len(cur) >= max_items):
            yield cur
            cur, cost = [], 0
        cur.append({"seed": i, "tokens": t})
        cost += t
    if cur:
        yield cur


# ---- models --------------------------------------------------------------------------------

def _sync(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Work:
    """A model on one device. predict(batch) -> (outputs, cost); direct(seconds, add) is the limit.

    predict is launch then collect: launch queues the batch's device work and its copy back
    (the SDK's HostCopy, right behind this batch's kernels) and returns without waiting; collect
    waits for that copy and returns (outputs, cost). gpupool's worker calls them apart, so the
    SDK can launch the next batch before collecting this one. (A plain .tolist() in collect would
    queue the copy behind the next batch too, on the one stream, and wait for both.)
    """

    name = "?"

    def predict(self, batch):
        return self.collect(self.launch(batch))

    def __init__(self, device):
        import torch
        self.torch = torch
        self.device = torch.device(device)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32

    def sync(self):
        _sync(self.torch, self.device)

    def _timed_loop(self, seconds, add, step, per_step_items, per_step_cost):
        """Call step() back to back for `seconds`, syncing every ~0.2 s; add(t0, t1, items, cost) per chunk.

        The first DIRECT_WARMUP_S are run and not recorded: the limit is the card's steady rate.
        (The first phase of a run once timed ResNet-50's direct loop at 84% GPU and 12.3k images/s,
        against 14.3k in every other run, which made every other method look above 100%.)"""
        self.sync()
        warm_until = time.time() + DIRECT_WARMUP_S
        while time.time() < warm_until:
            step()
            self.sync()
        t = time.time()
        step()
        self.sync()
        one = max(time.time() - t, 1e-6)
        chunk = max(1, int(0.2 / one))
        t_stop = time.time() + seconds
        while True:
            t0 = time.time()
            for _ in range(chunk):
                step()
            self.sync()
            t1 = time.time()
            add(t0, t1, chunk * per_step_items, chunk * per_step_cost)
            if t1 >= t_stop:
                return


class ResNet50(Work):
    name = "resnet50"

    def __init__(self, device):
        super().__init__(device)
        torch = self.torch
        torch.backends.cudnn.benchmark = os.environ.get("SCALING_CUDNN_BENCHMARK", "1") == "1"
        model = _resnet50()
        self.model = model.to(self.device, self.dtype).to(memory_format=torch.channels_last).eval()
        b, s = RESNET["batch"], RESNET["image"]
        with torch.inference_mode():
            self.buf = torch.empty((b, 3, s, s), device=self.device, dtype=self.dtype).to(memory_format=torch.channels_last)
            self.buf.normal_()
            for _ in range(3):  # cuDNN picks its kernels here, not in a timed batch
                self.model(self.buf)
        self.sync()

    def launch(self, batch):
        # A short batch (a shard's last, a batch.timeout) still runs at the full size: a new
        # shape would make cuDNN benchmark its kernels again, for up to a second, mid-phase.
        # The next batch's normal_() reuses the buffer: the stream orders it after this forward.
        n = len(batch)
        with self.torch.inference_mode():
            x = self.buf
            x.normal_()
            return HostCopy(self.model(x)[:n].argmax(dim=1)), n

    def collect(self, launched):
        copy, n = launched
        return copy.wait().tolist(), n

    def direct(self, seconds, add, full_batch=False):
        with self.torch.inference_mode():
            x = self.buf
            self._timed_loop(seconds, add, lambda: self.model(x), len(x), len(x))


def _resnet50():
    try:
        import torchvision
    except Exception:
        if not SMOKE:
            raise
        return _tiny_convnet()  # CPU smoke test where torchvision cannot load
    return torchvision.models.resnet50(weights=None)


def _tiny_convnet():
    import torch.nn as nn
    return nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2, padding=1),
                         nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 1000))


def _bucket(n):
    """Padded length of a sequence of n tokens: the next power of two, at least min_len."""
    b = ENCODER["min_len"]
    while b < n:
        b *= 2
    return b


class Encoder(Work):
    """12-layer Transformer encoder, d=768. A batch is split by padded length (powers of two),
    one forward per length, so a 16-token item is never padded to 1024."""

    name = "encoder"

    def __init__(self, device):
        super().__init__(device)
        torch, e = self.torch, ENCODER
        if self.device.type == "cuda" and os.environ.get("SCALING_ENCODER_CUDNN_SDP") != "1":
            # PyTorch picks cuDNN's attention on H100/H200, which builds a plan for every new
            # (rows, length) shape: in a fresh process 79% of the CPU time went there (profiled
            # on an H200) and the first ~15 s ran at 0.1–0.9M tokens/s; this stream has ~260
            # shapes. Flash/memory-efficient attention has no per-shape plans: 1.2M tokens/s
            # from the first second, ~7% under warm cuDNN. Every method runs this code, the
            # direct loop included, so the ratios stay side by side.
            torch.backends.cuda.enable_cudnn_sdp(False)
        layer = torch.nn.TransformerEncoderLayer(e["d"], e["heads"], e["ff"], dropout=0.0, activation="gelu", batch_first=True)
        enc = torch.nn.TransformerEncoder(layer, e["layers"], enable_nested_tensor=False)
        self.model = enc.to(self.device, self.dtype).eval()
        with torch.inference_mode():
            b = e["min_len"]
            while b <= e["max_len"]:  # every padded length once, so no kernel is first seen while timed
                self.model(torch.randn((max(1, e["max_tokens"] // b), b, e["d"]), device=self.device, dtype=self.dtype))
                b *= 2
        self.sync()
        # Then the real stream of batches (other seeds) for a few seconds: every (group size,
        # length) shape reaches the caching allocator once before anything is timed. Seen on
        # the GPU host: without it, the first few hundred batches of a fresh process run 2.5×
        # slower, which charged the cold processes (scheme 1, gpupool's workers) and not the
        # warm ones (scheme 2 ran after scheme 1 in the same process).
        deadline = time.time() + _env_float("SCALING_ENCODER_WARMUP_S", 0.5 if SMOKE else 8.0)
        for batch in batches("encoder", 10 ** 8, 10 ** 7):
            self.predict(batch)
            if time.time() > deadline:
                break

    def _groups(self, batch):
        groups = {}
        cost = 0
        for k, item in enumerate(batch):
            t = int(item["tokens"])
            cost += t
            groups.setdefault(_bucket(t), []).append(k)
        return groups, cost

    def launch(self, batch):
        torch, d = self.torch, ENCODER["d"]
        groups, cost = self._groups(batch)
        order, outs = [], []
        with torch.inference_mode():
            for length, idx in groups.items():
                x = torch.randn((len(idx), length, d), device=self.device, dtype=self.dtype)
                outs.append(self.model(x)[:, 0, :].argmax(dim=-1))
                order.extend(idx)
            return HostCopy(torch.cat(outs)), order, len(batch), cost

    def collect(self, launched):
        copy, order, n, cost = launched
        values = copy.wait().tolist()
        result = [0] * n
        for k, v in zip(order, values):
            result[k] = v
        return result, cost

    def direct(self, seconds, add, full_batch=False):
        torch, d = self.torch, ENCODER["d"]
        # The same kind of batches as the methods get (same distribution, same forming rule),
        # made on the card beforehand; the loop cycles through them.
        prepared = []
        for batch in batches("encoder", 10 ** 9, 40 * ENCODER["max_tokens"] // 120):
            groups, cost = self._groups(batch)
            xs = [torch.randn((len(idx), length, d), device=self.device, dtype=self.dtype) for length, idx in groups.items()]
            prepared.append((xs, len(batch), cost))
            if len(prepared) == 32:
                break
        items = sum(p[1] for p in prepared)
        cost = sum(p[2] for p in prepared)

        def one_pass():
            for xs, _, _ in prepared:
                for x in xs:
                    self.model(x)

        with torch.inference_mode():
            self._timed_loop(seconds, add, one_pass, items, cost)
        del prepared


class Mlp(Work):
    name = "mlp"

    def __init__(self, device):
        super().__init__(device)
        torch, m = self.torch, MLP
        layers = []
        for i in range(m["layers"]):
            layers.append(torch.nn.Linear(m["width"], m["width"]))
            if i < m["layers"] - 1:
                layers.append(torch.nn.ReLU())
        self.model = torch.nn.Sequential(*layers).to(self.device, self.dtype).eval()
        with torch.inference_mode():
            self.buf = torch.empty((m["batch"], m["width"]), device=self.device, dtype=self.dtype)
            self.buf.normal_()
            for _ in range(3):
                self.model(self.buf)
        self.sync()

    def launch(self, batch):
        n, mb = len(batch), MLP["model_batch"]
        torch = self.torch
        with torch.inference_mode():
            x = self.buf[:n]
            x.normal_()
            outs = [self.model(x[a:a + mb]).argmax(dim=1) for a in range(0, n, mb)]
            return HostCopy(torch.cat(outs)), n

    def collect(self, launched):
        copy, n = launched
        return copy.wait().tolist(), n

    def direct(self, seconds, add, full_batch=False):
        """Calls of model_batch rows back to back (the limit); full_batch: whole 4096-row calls (a reference)."""
        with self.torch.inference_mode():
            x = self.buf if full_batch else self.buf[:MLP["model_batch"]]
            self._timed_loop(seconds, add, lambda: self.model(x), len(x), len(x))


CLASSES = {"resnet50": ResNet50, "encoder": Encoder, "mlp": Mlp}


def build(workload, device):
    return CLASSES[workload](device)
