"""Real torch on a real GPU: the GPU host's check, not part of `npm test` (CI has no GPU).

Run on the GPU host from sdk/python: python3 -m unittest -v tests.gpu_torch_check
Its name does not match unittest's test*.py pattern on purpose, so discovery never skips it
silently; without CUDA it fails.
"""
import shutil
import subprocess
import time
import unittest

from tests._harness import READY, WorkerProcess

import torch


class TorchOnGpu(unittest.TestCase):
    def setUp(self):
        self.assertTrue(torch.cuda.is_available(), "this check needs torch with a CUDA device")

    def spawn(self):
        w = WorkerProcess("torch_worker.py", kind="cuda", timeout=120,
                          env={"CUDA_VISIBLE_DEVICES": "0", "GPUPOOL_DEVICE_IDS": "0"})
        self.addCleanup(w.close)
        t0 = time.monotonic()
        hello = w.read()
        self.hello_s = time.monotonic() - t0
        self.assertEqual(w.read(), READY)
        return w, hello

    def test_hello_matches_nvidia_smi(self):
        w, hello = self.spawn()
        print("\nhello after %.2f s: %s" % (self.hello_s, hello))
        self.assertEqual(hello["framework"], "torch " + torch.__version__)
        [dev] = hello["devices"]
        self.assertEqual(dev["name"], torch.cuda.get_device_name(0))
        self.assertGreater(dev["memory_total"], dev["memory_free"])
        self.assertGreater(dev["memory_free"], 0)
        self.assertTrue(dev["uuid"].startswith("GPU-"), dev["uuid"])
        if shutil.which("nvidia-smi"):
            uuids = subprocess.run(["nvidia-smi", "--query-gpu=uuid", "--format=csv,noheader"],
                                   capture_output=True, text=True).stdout.split()
            self.assertIn(dev["uuid"], uuids)

    def test_tensor_outputs_oom_then_fatal(self):
        w, _ = self.spawn()
        w.send({"type": "batch", "id": 1, "items": [{"x": [1, 2]}, {"x": [3]}]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [6.0, 6.0]})
        w.send({"type": "batch", "id": 2, "items": [{"alloc_gib": 4096}]})
        msg = w.read()
        self.assertEqual((msg["type"], msg["id"], msg["kind"]), ("failed", 2, "oom"), msg)
        self.assertIn("OutOfMemoryError: CUDA out of memory", msg["message"])
        w.send({"type": "batch", "id": 3, "items": [{"alloc_gib": 1}]})
        self.assertEqual(w.read(), {"type": "result", "id": 3, "outputs": [1 << 30]})
        # an oom with a big tensor still referenced from predict's frame: the SDK must drop the
        # traceback, collect and empty the cache, so the next batch finds the memory free again
        total_gib = torch.cuda.get_device_properties(0).total_memory / (1 << 30)
        big = int(total_gib * 0.6)
        w.send({"type": "batch", "id": 5, "items": [{"hold_gib": big, "alloc_gib": big}]})
        msg = w.read()
        self.assertEqual((msg["type"], msg["id"], msg["kind"]), ("failed", 5, "oom"), msg)
        w.send({"type": "batch", "id": 6, "items": [{"reserved": True}]})
        reserved = w.read()["outputs"][0]
        self.assertLess(reserved, 1 << 30, "caching allocator still holds %d bytes after an oom" % reserved)
        w.send({"type": "batch", "id": 7, "items": [{"alloc_gib": big}]})
        self.assertEqual(w.read(), {"type": "result", "id": 7, "outputs": [big << 30]})
        w.send({"type": "batch", "id": 4, "items": [{"assert": True}]})
        msg = w.read()
        print("\nfatal frame: kind=%s message=%.200r" % (msg.get("kind"), msg.get("message")))
        self.assertEqual((msg["type"], msg["id"], msg["kind"]), ("failed", 4, "fatal"), msg)
        self.assertIsNone(w.read())
        self.assertEqual(w.wait(60), 70)


if __name__ == "__main__":
    unittest.main()
