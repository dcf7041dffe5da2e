"""HostCopy: the copy of a batch's results to host memory, queued in ``launch``.

In ``collect``, a plain ``.tolist()`` or ``.cpu()`` queues the copy at the end of the device's
stream, behind the batch the SDK has launched after this one, and waits for both: the
pipeline drains at every collect and the device idles more than with plain ``predict``.
Queue the copy in ``launch`` instead, right behind this batch's own kernels:

    def launch(self, batch):
        return gpupool.HostCopy(self.model(self.inputs(batch)).argmax(dim=1))
    def collect(self, copy):
        return copy.wait().tolist()

Works for any object with torch's tensor methods; imports nothing itself.
"""

__all__ = ["HostCopy"]


class HostCopy:
    """Host copies of device tensors, queued now; ``wait()`` returns them once they arrived.

    CUDA (and ROCm) tensors are copied asynchronously into pinned memory and an event marks
    the end of the copies; tensors already on the host pass through. Other devices (NPU) are
    copied synchronously in ``wait()``: correct, without the overlap.
    """

    __slots__ = ("_tensors", "_events")

    def __init__(self, *tensors):
        if not tensors:
            raise TypeError("HostCopy needs at least one tensor")
        copies = []
        devices = {}  # one event per CUDA device: a worker may hold several cards
        for t in tensors:
            device = getattr(t, "device", None)
            if getattr(device, "type", None) == "cuda":
                copies.append(t.to("cpu", non_blocking=True))
                devices[device] = True
            else:
                copies.append(t)
        events = []
        if devices:
            import torch  # already loaded: a CUDA tensor exists
            for device in devices:
                event = torch.cuda.Event()
                event.record(torch.cuda.current_stream(device))
                events.append(event)
        self._events = events
        self._tensors = copies

    def wait(self):
        """The host tensors (one, or a tuple when several were given), once copied."""
        for event in self._events:
            event.synchronize()
        self._events = ()
        host = [t.cpu() if getattr(getattr(t, "device", None), "type", "cpu") != "cpu" else t for t in self._tensors]
        return host[0] if len(host) == 1 else tuple(host)
