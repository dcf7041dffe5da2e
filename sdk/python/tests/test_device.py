"""Device from the environment, and what hello reports (torch faked: it is not installed here)."""
import os
import tempfile
import textwrap
import unittest

from gpupool.device import Device, device_from_env
from tests._harness import READY, WorkerProcess

FAKE_TORCH = textwrap.dedent('''
    import os
    __version__ = "2.11.0+cu128"
    with open(os.environ["FAKE_TORCH_LOG"], "a") as f:
        f.write("import\\n")

    class _Props:
        def __init__(self, i):
            self.uuid = "5f1c0000-0000-0000-0000-00000000000%d" % i

    class cuda:
        @staticmethod
        def device_count():
            return 2
        @staticmethod
        def get_device_name(i):
            return "NVIDIA H200"
        @staticmethod
        def get_device_properties(i):
            return _Props(i)
        @staticmethod
        def mem_get_info(i):
            return (1000 + i, 150754820096)
        @staticmethod
        def is_initialized():
            return True
        @staticmethod
        def empty_cache():
            with open(os.environ["FAKE_TORCH_LOG"], "a") as f:
                f.write("empty_cache\\n")
''')


class FromEnv(unittest.TestCase):
    def test_cuda(self):
        d = device_from_env({"GPUPOOL_DEVICE_KIND": "cuda", "GPUPOOL_DEVICE_IDS": "6,7",
                             "GPUPOOL_DEVICE_UUIDS": "GPU-a,GPU-b", "GPUPOOL_WORKER_ID": "ocr/cuda:6/0",
                             "GPUPOOL_MODEL": "ocr"})
        self.assertEqual((d.kind, d.torch, d.torch_devices, d.count, d.ids, d.uuids, d.worker_id, d.model),
                         ("cuda", "cuda:0", ["cuda:0", "cuda:1"], 2, ["6", "7"], ["GPU-a", "GPU-b"], "ocr/cuda:6/0", "ocr"))

    def test_rocm_uses_cuda_names(self):
        d = device_from_env({"GPUPOOL_DEVICE_KIND": "rocm", "GPUPOOL_DEVICE_IDS": "1"})
        self.assertEqual((d.kind, d.torch, d.count), ("rocm", "cuda:0", 1))

    def test_npu(self):
        self.assertEqual(device_from_env({"GPUPOOL_DEVICE_KIND": "npu", "GPUPOOL_DEVICE_IDS": "3"}).torch, "npu:0")

    def test_cpu_and_defaults(self):
        d = device_from_env({})
        self.assertEqual((d.kind, d.torch, d.torch_devices, d.count, d.ids, d.uuids, d.worker_id, d.model),
                         ("cpu", "cpu", ["cpu"], 1, [], [], "standalone", "model"))
        self.assertEqual(Device("cpu", ids=["0"]).count, 1)


class Hello(unittest.TestCase):
    def fake_torch(self):
        d = tempfile.mkdtemp()
        os.mkdir(os.path.join(d, "torch"))
        with open(os.path.join(d, "torch", "__init__.py"), "w") as f:
            f.write(FAKE_TORCH)
        log = os.path.join(d, "log")
        open(log, "w").close()
        return d, log

    def spawn(self, kind, env):
        w = WorkerProcess("scripted_worker.py", kind=kind, env=env)
        self.addCleanup(w.close)
        return w

    def test_cuda_hello_reports_what_torch_sees(self):
        d, log = self.fake_torch()
        w = self.spawn("cuda", {"PYTHONPATH": d + os.pathsep + os.environ.get("PYTHONPATH", "") + os.pathsep
                                + os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "FAKE_TORCH_LOG": log})
        self.assertEqual(w.read(), {
            "type": "hello", "protocol": 1, "pid": w.proc.pid, "sdk": "python/0.1.0", "framework": "torch 2.11.0+cu128",
            "devices": [
                {"name": "NVIDIA H200", "uuid": "GPU-5f1c0000-0000-0000-0000-000000000000",
                 "memory_total": 150754820096, "memory_free": 1000},
                {"name": "NVIDIA H200", "uuid": "GPU-5f1c0000-0000-0000-0000-000000000001",
                 "memory_total": 150754820096, "memory_free": 1001}]})
        self.assertEqual(w.read(), READY)
        # an oom frees the caching allocator before answering
        w.send({"type": "batch", "id": 1, "items": [{"oom": "x"}]})
        self.assertEqual(w.read()["kind"], "oom")
        with open(log) as f:
            self.assertEqual(f.read(), "import\nempty_cache\n")

    def test_cpu_hello_does_not_import_torch(self):
        d, log = self.fake_torch()
        w = self.spawn("cpu", {"PYTHONPATH": d + os.pathsep + os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "FAKE_TORCH_LOG": log})
        self.assertEqual(w.read()["devices"], [])
        self.assertEqual(w.read(), READY)
        w.send({"type": "batch", "id": 1, "items": [{"oom": "x"}]})
        self.assertEqual(w.read()["kind"], "oom")
        with open(log) as f:
            self.assertEqual(f.read(), "")

    def test_cuda_without_torch_omits_devices(self):
        d = tempfile.mkdtemp()  # a torch that cannot be imported, shadowing any real one
        os.mkdir(os.path.join(d, "torch"))
        with open(os.path.join(d, "torch", "__init__.py"), "w") as f:
            f.write("raise ModuleNotFoundError(\"No module named 'torch'\", name='torch')\n")
        w = self.spawn("cuda", {"PYTHONPATH": d + os.pathsep + os.path.dirname(os.path.dirname(os.path.abspath(__file__)))})
        hello = w.read()
        self.assertNotIn("devices", hello)
        self.assertNotIn("framework", hello)
        self.assertRegex(hello["problem"], "^cannot import torch: ModuleNotFoundError: No module named 'torch'")
        self.assertEqual(w.read(), READY)


if __name__ == "__main__":
    unittest.main()
