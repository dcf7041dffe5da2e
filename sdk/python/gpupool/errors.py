"""How a failure in ``predict`` is reported to gpupool: the one place that reads error text.

gpupool never looks at a message to decide what to do (docs/protocol.md, ``failed``): the
SDK does, here, and sends a ``kind``:

``oom``    out of memory, the process is still usable: gpupool halves the batch limit,
           splits the batch and retries the halves.  The SDK frees caches before answering.
``fatal``  the process is unusable (a "sticky" device error: every later CUDA call fails
           too): the SDK answers, then exits; gpupool restarts the worker.
``batch``  anything else: an ordinary exception in ``predict``; gpupool retries its items.

To change the classification, edit the tables below (they are plain lists, so a worker may
also append to them at import time, e.g. ``gpupool.errors.OOM_PATTERNS.append(...)``).
"""

import gc
import sys

__all__ = [
    "ItemError", "OutOfMemory", "Fatal", "classify", "free_device_memory",
    "OOM", "FATAL", "BATCH",
    "OOM_TYPE_NAMES", "OOM_TYPES", "OOM_PATTERNS", "FATAL_TYPES", "FATAL_PATTERNS",
]

OOM = "oom"
FATAL = "fatal"
BATCH = "batch"


class ItemError(Exception):
    """Return (not raise) one of these as an output to fail that item alone.

    ``outputs[i] = gpupool.ItemError("image is empty")`` becomes ``null`` in ``outputs`` and
    ``errors["i"] = {"message": "image is empty"}`` in the result; the rest of the batch stands.
    ``code`` is an optional short machine-readable tag copied into the error entry.
    """

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = str(message)
        self.code = None if code is None else str(code)

    def to_json(self):
        if self.code is None:
            return {"message": self.message}
        return {"message": self.message, "code": self.code}

    def __repr__(self):
        return "ItemError(%r%s)" % (self.message, "" if self.code is None else ", code=%r" % self.code)


class OutOfMemory(Exception):
    """Raise from ``predict`` when the batch did not fit (any device or framework):
    gpupool splits the batch and retries the halves."""


class Fatal(Exception):
    """Raise from ``predict`` when this process can no longer work (a broken device context):
    the SDK reports ``fatal`` and exits; gpupool restarts the worker."""


# --- out of memory -------------------------------------------------------------------------
# Matched on any class in the exception's MRO, by name, so that no framework has to be
# imported to recognise its exceptions (torch is imported lazily, or never).
OOM_TYPE_NAMES = [
    "OutOfMemoryError",        # torch.OutOfMemoryError / torch.cuda.OutOfMemoryError (CUDA, ROCm, NPU caching allocators)
    "ResourceExhaustedError",  # tensorflow.errors.ResourceExhaustedError (OOM while allocating a tensor)
]
OOM_TYPES = (
    OutOfMemory,   # raised by the model author
    MemoryError,   # host RAM: a smaller batch needs less of it too, and the process survives
)
# Substrings of RuntimeError messages (torch raises plain RuntimeErrors for allocation
# failures that do not go through its caching allocator).  None of these leave the device
# context broken: freeing caches and retrying smaller works.
OOM_PATTERNS = [
    "CUDA out of memory",           # torch caching allocator (older torch raised RuntimeError, not OutOfMemoryError)
    "CUDA error: out of memory",    # cudaMalloc outside the caching allocator (workspaces, cuBLAS handles); not sticky
    "CUBLAS_STATUS_ALLOC_FAILED",   # cuBLAS could not allocate its workspace
    "CUDNN_STATUS_NOT_ALLOCATED",   # cuDNN (older wording) could not allocate
    "CUDNN_STATUS_ALLOC_FAILED",    # cuDNN could not allocate its workspace
    "HIP out of memory",            # torch on ROCm (caching allocator)
    "HIP error: out of memory",     # hipMalloc outside the caching allocator
    "NPU out of memory",            # torch_npu on Ascend
    "RESOURCE_EXHAUSTED: Out of memory",  # JAX / XLA allocation failure (XlaRuntimeError)
]

# --- fatal: the process must go ------------------------------------------------------------
# These CUDA errors are "sticky": the context is corrupted and every later call on it fails
# with the same error, so retrying in this process is useless.  gpupool restarts the worker
# and returns its in-flight items to the queue.
FATAL_TYPES = (
    Fatal,          # raised by the model author
)
FATAL_PATTERNS = [
    # The runtime's own texts (cudaGetErrorString), whatever prefix the caller put before them:
    # torch "CUDA error: ", torch's driver calls "CUDA driver error: ", Triton kernels (torch.compile)
    # "Triton Error [CUDA]: ", ROCm "HIP error: ".  Every one of these is sticky.
    "an illegal memory access was encountered",  # cudaErrorIllegalAddress: out-of-bounds access in a kernel
    "unspecified launch failure",                 # cudaErrorLaunchFailure: a kernel crashed
    "device-side assert triggered",               # cudaErrorAssert: a kernel assert fired (e.g. index out of range)
    "uncorrectable ECC error encountered",        # cudaErrorECCUncorrectable: device memory is bad
    "uncorrectable NVLink error",                 # cudaErrorNvlinkUncorrectable
    "misaligned address",                         # cudaErrorMisalignedAddress
    "an illegal instruction was encountered",     # cudaErrorIllegalInstruction
    "the launch timed out and was terminated",    # cudaErrorLaunchTimeout: the watchdog killed a kernel
    "hardware stack error",                       # cudaErrorHardwareStackError
    "invalid program counter",                    # cudaErrorInvalidPc
    # cudaErrorUnknown, typically a lost or reset device (an Xid): "unknown error" alone is too
    # vague to match, so only with a device prefix.
    "CUDA error: unknown error",
    "CUDA driver error: unknown error",
    "Triton Error [CUDA]: unknown error",
    "HIP error: unknown error",
]


def _match(exc, types, type_names, patterns):
    if isinstance(exc, types):
        return True
    if type_names:
        for cls in type(exc).__mro__:
            if cls.__name__ in type_names:
                return True
    if patterns and isinstance(exc, RuntimeError):
        try:
            text = str(exc)
        except Exception:  # a broken __str__ must not break the worker
            return False
        for p in patterns:
            if p in text:
                return True
    return False


def _chain(exc):
    """The exception, then its causes/contexts (``raise X from oom`` still counts as oom)."""
    seen = set()
    while exc is not None and id(exc) not in seen and len(seen) < 32:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ if exc.__cause__ is not None else exc.__context__


def classify(exc):
    """Return ``"fatal"``, ``"oom"`` or ``"batch"`` for an exception raised by ``predict``.

    Fatal wins over oom anywhere in the chain of causes: a broken context cannot be retried.
    """
    chain = list(_chain(exc))
    for e in chain:
        if _match(e, FATAL_TYPES, (), FATAL_PATTERNS):
            return FATAL
    for e in chain:
        if _match(e, OOM_TYPES, OOM_TYPE_NAMES, OOM_PATTERNS):
            return OOM
    return BATCH


def free_device_memory():
    """After an OOM: collect garbage (the failed batch's tensors) and return the framework's
    cached blocks to the device, so the retried halves start from a clean allocator.
    Touches torch only if the worker already imported it."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is None:
        return
    cuda = getattr(torch, "cuda", None)  # also ROCm builds
    try:
        if cuda is not None and cuda.is_initialized():
            cuda.empty_cache()
    except Exception:
        pass
    npu = getattr(torch, "npu", None)  # present once torch_npu is imported
    try:
        if npu is not None:
            npu.empty_cache()
    except Exception:
        pass
