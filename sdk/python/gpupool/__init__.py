"""gpupool Python SDK: write ``setup(device)`` and ``predict(batch)``, call ``serve``.

    import gpupool

    class Model(gpupool.Worker):
        def setup(self, device):           # once; device.torch is "cuda:0" or "cpu"
            ...
        def predict(self, batch):          # list of inputs -> list of outputs, same length
            ...

    if __name__ == "__main__":
        gpupool.serve(Model)

Speaks docs/protocol.md (version 1) over the descriptor in GPUPOOL_PROTOCOL_FD. Stdlib only;
torch is imported lazily (never for a cpu worker).
"""

from .device import Device, device_from_env
from .errors import Fatal, ItemError, OutOfMemory, classify
from .host_copy import HostCopy
from .protocol import PROTOCOL_VERSION
from .worker import SDK_VERSION as __version__
from .worker import Worker, run_worker, serve

__all__ = [
    "Worker", "serve", "run_worker", "Device", "device_from_env",
    "ItemError", "OutOfMemory", "Fatal", "classify", "HostCopy", "PROTOCOL_VERSION", "__version__",
]
