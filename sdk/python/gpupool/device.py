"""What the worker was given (from the environment gpupool sets) and what it actually sees."""

import os
import sys

__all__ = ["Device", "device_from_env", "describe_devices"]

_TORCH_PREFIX = {"cuda": "cuda", "rocm": "cuda", "npu": "npu", "cpu": "cpu"}


def _split(value):
    return [v.strip() for v in (value or "").split(",") if v.strip()]


class Device:
    """The device(s) this worker is pinned to, as passed to ``Worker.setup``.

    kind       "cuda", "rocm", "npu" or "cpu"
    torch      the PyTorch device string of the first device: "cuda:0", "npu:0" or "cpu"
               (ROCm builds of torch also use "cuda:0"); the process sees only its own devices
    torch_devices  one string per device given: ["cuda:0", "cuda:1"] (["cpu"] for cpu)
    count      number of devices given (at least 1)
    ids        host indices from GPUPOOL_DEVICE_IDS (as `gpupool devices` shows them; for logs)
    uuids      from GPUPOOL_DEVICE_UUIDS
    worker_id  GPUPOOL_WORKER_ID, e.g. "ocr/cuda:1/0"
    model      GPUPOOL_MODEL
    """

    __slots__ = ("kind", "torch", "torch_devices", "count", "ids", "uuids", "worker_id", "model", "index")

    def __init__(self, kind="cpu", ids=(), uuids=(), worker_id="standalone", model="model"):
        kind = (kind or "cpu").strip().lower()
        self.kind = kind
        self.ids = list(ids)
        self.uuids = list(uuids)
        self.count = max(1, len(self.ids), len(self.uuids))
        self.index = 0
        prefix = _TORCH_PREFIX.get(kind, kind)
        if prefix == "cpu":
            self.torch_devices = ["cpu"]
        else:
            self.torch_devices = ["%s:%d" % (prefix, i) for i in range(self.count)]
        self.torch = self.torch_devices[0]
        self.worker_id = worker_id
        self.model = model

    def __repr__(self):
        return "Device(kind=%r, torch=%r, count=%d, ids=%r, uuids=%r, worker_id=%r, model=%r)" % (
            self.kind, self.torch, self.count, self.ids, self.uuids, self.worker_id, self.model)


def device_from_env(env=None):
    env = os.environ if env is None else env
    return Device(
        kind=env.get("GPUPOOL_DEVICE_KIND") or "cpu",
        ids=_split(env.get("GPUPOOL_DEVICE_IDS")),
        uuids=_split(env.get("GPUPOOL_DEVICE_UUIDS")),
        worker_id=env.get("GPUPOOL_WORKER_ID") or "standalone",
        model=env.get("GPUPOOL_MODEL") or "model",
    )


def _torch_version(torch):
    return "torch " + str(getattr(torch, "__version__", "?"))


def describe_devices(kind):
    """What this process sees, for ``hello``: returns ``(framework, devices, problem)``.

    ``devices`` is a list of {"name", "uuid", "memory_total", "memory_free"} (empty for cpu),
    or None when the worker cannot tell (torch missing): gpupool then has nothing to verify.
    ``problem`` is a short text when looking failed, else None.

    For cpu, torch is never imported here (it costs seconds of start-up); the framework is
    reported only if the worker's own code imported it already.
    """
    if kind == "cpu":
        torch = sys.modules.get("torch")
        return (_torch_version(torch) if torch is not None else None), [], None
    try:
        import torch  # noqa: lazy on purpose
    except Exception as e:  # ImportError, or a broken install
        return None, None, "cannot import torch: %s: %s" % (type(e).__name__, e)
    framework = _torch_version(torch)
    if kind == "npu":
        try:
            import torch_npu  # noqa: F401  registers torch.npu
        except Exception as e:
            return framework, None, "cannot import torch_npu: %s: %s" % (type(e).__name__, e)
        api = getattr(torch, "npu", None)
    else:  # cuda, and rocm (HIP builds expose the same torch.cuda API)
        api = torch.cuda
    devices = []
    try:
        n = api.device_count()
        for i in range(n):
            d = {"name": str(api.get_device_name(i))}
            try:
                uuid = str(api.get_device_properties(i).uuid)
                if kind in ("cuda", "rocm") and uuid and not uuid.startswith("GPU-"):
                    uuid = "GPU-" + uuid  # nvidia-smi / NVML spelling, as gpupool devices reports it
                d["uuid"] = uuid
            except Exception:
                pass
            try:
                free, total = api.mem_get_info(i)
                d["memory_total"] = int(total)
                d["memory_free"] = int(free)
            except Exception:
                pass
            devices.append(d)
    except Exception as e:
        return framework, devices, "cannot query %s devices: %s: %s" % (kind, type(e).__name__, e)
    return framework, devices, None
