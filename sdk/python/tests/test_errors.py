"""The classifier table: which exceptions are oom, fatal or batch."""
import unittest

import gpupool
from gpupool import errors
from gpupool.errors import classify


class OutOfMemoryError(RuntimeError):
    """Stands in for torch.OutOfMemoryError (torch is not needed to recognise it)."""


class CudaOutOfMemoryError(OutOfMemoryError):
    """A subclass: recognised through the MRO."""


class ResourceExhaustedError(Exception):
    """Stands in for tensorflow.errors.ResourceExhaustedError."""


class AcceleratorError(RuntimeError):
    """Stands in for torch.AcceleratorError (a RuntimeError subclass in torch >= 2.8)."""


class Classify(unittest.TestCase):
    def assertKind(self, exc, kind):
        self.assertEqual(classify(exc), kind, repr(exc))

    def test_oom(self):
        for exc in [
            gpupool.OutOfMemory("too big"),
            OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"),
            OutOfMemoryError("anything at all"),
            CudaOutOfMemoryError("x"),
            ResourceExhaustedError("OOM when allocating tensor"),
            MemoryError(),
            RuntimeError("CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 79.15 GiB total capacity)"),
            RuntimeError("CUDA error: out of memory\nCUDA kernel errors might be asynchronously reported"),
            RuntimeError("CUDA error: CUBLAS_STATUS_ALLOC_FAILED when calling `cublasCreate(handle)`"),
            RuntimeError("cuDNN error: CUDNN_STATUS_NOT_ALLOCATED"),
            RuntimeError("cuDNN error: CUDNN_STATUS_ALLOC_FAILED"),
            RuntimeError("HIP out of memory. Tried to allocate 1.00 GiB"),
            RuntimeError("NPU out of memory. Tried to allocate 3.00 GiB"),
            RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1073741824 bytes."),
        ]:
            self.assertKind(exc, "oom")

    def test_fatal(self):
        for exc in [
            gpupool.Fatal("device lost"),
            RuntimeError("CUDA error: an illegal memory access was encountered\nCompile with `TORCH_USE_CUDA_DSA`"),
            AcceleratorError("CUDA error: an illegal memory access was encountered"),
            RuntimeError("CUDA error: unspecified launch failure"),
            RuntimeError("CUDA error: unknown error"),
            RuntimeError("CUDA error: uncorrectable ECC error encountered"),
            RuntimeError("CUDA error: device-side assert triggered"),
            RuntimeError("CUDA error: misaligned address"),
            RuntimeError("CUDA error: an illegal instruction was encountered"),
            RuntimeError("CUDA error: the launch timed out and was terminated"),
            RuntimeError("HIP error: an illegal memory access was encountered"),
            RuntimeError("HIP error: unknown error"),
            # torch's driver-API checks and Triton kernels (torch.compile) word the same errors
            RuntimeError("CUDA driver error: an illegal memory access was encountered"),
            RuntimeError("CUDA driver error: unknown error"),
            RuntimeError("Triton Error [CUDA]: an illegal memory access was encountered"),
            RuntimeError("Triton Error [CUDA]: device-side assert triggered"),
            RuntimeError("Triton Error [CUDA]: unspecified launch failure"),
            RuntimeError("Triton Error [CUDA]: unknown error"),
            AcceleratorError("CUDA error: device-side assert triggered\nSearch for `cudaErrorAssert' in "
                             "https://docs.nvidia.com/cuda/cuda-runtime-api/group__CUDART__TYPES.html"),
            RuntimeError("CUDA error: uncorrectable NVLink error detected during the execution"),
            RuntimeError("CUDA error: hardware stack error"),
            RuntimeError("CUDA error: invalid program counter"),
        ]:
            self.assertKind(exc, "fatal")

    def test_batch(self):
        for exc in [
            ValueError("bad input"),
            KeyError("text"),
            RuntimeError("shape mismatch: [2, 3] vs [3, 2]"),
            RuntimeError("Expected all tensors to be on the same device"),
            TypeError("CUDA out of memory"),  # message patterns apply to RuntimeErrors only
            ValueError("device-side assert triggered"),
            Exception(),
            # not sticky: the process can go on
            RuntimeError("unknown error"),
            RuntimeError("CUDA error: invalid argument"),
            RuntimeError("Triton Error [CUDA]: invalid argument"),
            RuntimeError("CUDA error: CUBLAS_STATUS_EXECUTION_FAILED when calling `cublasGemmEx`"),
        ]:
            self.assertKind(exc, "batch")

    def test_cause_chain(self):
        def raised(outer, inner, explicit=True):
            try:
                try:
                    raise inner
                except Exception as e:
                    if explicit:
                        raise outer from e
                    raise outer
            except Exception as e:
                return e

        self.assertKind(raised(ValueError("wrapped"), gpupool.OutOfMemory("x")), "oom")
        self.assertKind(raised(ValueError("while handling"), RuntimeError("CUDA error: unknown error"), False), "fatal")
        # fatal anywhere beats oom
        self.assertKind(raised(gpupool.OutOfMemory("x"), RuntimeError("CUDA error: misaligned address")), "fatal")
        self.assertKind(raised(ValueError("a"), KeyError("b")), "batch")

    def test_cyclic_chain_terminates(self):
        a, b = ValueError("a"), ValueError("b")
        a.__context__, b.__context__ = b, a
        self.assertKind(a, "batch")

    def test_unprintable_exception(self):
        class Weird(RuntimeError):
            def __str__(self):
                raise Exception("no")
        self.assertKind(Weird(), "batch")

    def test_tables_are_extendable(self):
        exc = RuntimeError("MY_ACCELERATOR_OOM")
        self.assertKind(exc, "batch")
        errors.OOM_PATTERNS.append("MY_ACCELERATOR_OOM")
        try:
            self.assertKind(exc, "oom")
        finally:
            errors.OOM_PATTERNS.remove("MY_ACCELERATOR_OOM")


class ItemErrorShape(unittest.TestCase):
    def test_to_json(self):
        self.assertEqual(gpupool.ItemError("empty").to_json(), {"message": "empty"})
        self.assertEqual(gpupool.ItemError("empty", code="E1").to_json(), {"message": "empty", "code": "E1"})
        self.assertEqual(gpupool.ItemError(ValueError("v")).to_json(), {"message": "v"})


if __name__ == "__main__":
    unittest.main()
