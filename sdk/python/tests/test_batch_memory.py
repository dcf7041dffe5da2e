"""``batch_memory`` in a worker's answers: what each batch took of device memory."""
import sys
import types
import unittest

from gpupool import Worker
from gpupool.batch_memory import HookMeter, TorchMeter, as_bytes, meter_for
from tests._harness import frame
from tests.test_worker_process import WorkerTest


class Answers(WorkerTest):
    def test_the_classic_result_carries_it(self):
        w = self.started("memory_report_worker.py")
        w.send({"type": "batch", "id": 7, "items": [1, 2, 3]})
        self.assertNextBytes(w, b'{"type":"result","id":7,"outputs":[1,2,3],"batch_memory":300}')

    def test_the_result_array_header_carries_it(self):
        w = self.started("memory_report_worker.py", env={"GPUPOOL_RESULT_FORMS": "result_lines,result_array"})
        w.send({"type": "batch", "id": 8, "items": [{"a": 1}, 2]})
        self.assertNextBytes(w, b'{"type":"result_array","id":8,"count":2,"strict":true,"batch_memory":200}\n[{"a":1},2]')

    def test_a_result_with_item_errors_carries_it(self):
        w = self.started("memory_report_worker.py", env={"GPUPOOL_RESULT_FORMS": "result_array"})
        w.send({"type": "batch", "id": 9, "items": ["ok", {"item_error": "empty page"}]})
        self.assertEqual(w.read(), {"type": "result", "id": 9, "outputs": ["ok", None],
                                    "errors": {"1": {"message": "empty page"}}, "batch_memory": 200})

    def test_a_failed_batch_says_nothing_of_memory(self):
        w = self.started("memory_report_worker.py")
        w.send({"type": "batch", "id": 10, "items": [{"raise": "boom"}]})
        msg = w.read()
        self.assertEqual((msg["type"], msg["kind"]), ("failed", "batch"))
        self.assertNotIn("batch_memory", msg)

    def test_a_reading_that_is_no_count_of_bytes_or_raises_is_left_out_and_the_batch_answered(self):
        for report in ("bad", "raise"):
            w = self.started("memory_report_worker.py", env={"REPORT": report})
            w.send({"type": "batch", "id": 11, "items": ["a"]})
            self.assertNextBytes(w, b'{"type":"result","id":11,"outputs":["a"]}')

    def test_a_model_put_on_the_gpu_in_its_first_predict_is_measured_from_the_next_batch(self):
        w = self.started("lazy_torch_worker.py")
        w.send({"type": "batch", "id": 1, "items": [1]})
        self.assertNextBytes(w, b'{"type":"result","id":1,"outputs":[1]}')
        w.send({"type": "batch", "id": 2, "items": [2]})
        self.assertNextBytes(w, b'{"type":"result","id":2,"outputs":[2],"batch_memory":1000}')

    def test_a_worker_that_does_not_measure_sends_nothing(self):
        w = self.started("noop_worker.py")
        w.send_raw(frame(b'{"type":"batch","id":12,"items":[1]}'))
        self.assertNextBytes(w, b'{"type":"result","id":12,"outputs":[1]}')


class FakeCuda:
    """torch.cuda's counters, as the meter reads them."""

    def __init__(self, initialized=True):
        self.initialized = initialized
        self.allocated = 1000  # the model's weights
        self.peak = 1000
        self.resets = 0

    def is_initialized(self):
        return self.initialized

    def reset_peak_memory_stats(self):
        self.resets += 1
        self.peak = self.allocated

    def memory_allocated(self):
        return self.allocated

    def max_memory_allocated(self):
        return self.peak


class Meters(unittest.TestCase):
    def with_torch(self, cuda):
        saved = sys.modules.get("torch")
        sys.modules["torch"] = types.SimpleNamespace(cuda=cuda)
        self.addCleanup(lambda: sys.modules.pop("torch", None) if saved is None else sys.modules.__setitem__("torch", saved))

    def test_pytorch_on_a_gpu_the_batch_peak_above_what_was_allocated_before(self):
        cuda = FakeCuda()
        self.with_torch(cuda)
        meter = meter_for(Worker(), Worker.batch_memory)
        self.assertIsInstance(meter, TorchMeter)
        meter.start()
        cuda.peak = 1000 + 5000  # the batch's activations, freed by the time it returns
        self.assertEqual(meter.stop(), 5000)
        cuda.allocated = 1500  # a tensor kept from the last batch is in the next one's baseline
        meter.start()
        cuda.peak = 1700
        self.assertEqual((meter.stop(), cuda.resets), (200, 2))

    def test_no_meter_without_a_device_in_use(self):
        self.with_torch(FakeCuda(initialized=False))
        self.assertIsNone(meter_for(Worker(), Worker.batch_memory))
        sys.modules.pop("torch")
        self.assertIsNone(meter_for(Worker(), Worker.batch_memory))

    def test_a_worker_measuring_itself_is_asked_even_with_pytorch_on_a_gpu(self):
        self.with_torch(FakeCuda())

        class Own(Worker):
            def batch_memory(self):
                return 42

        meter = meter_for(Own(), Worker.batch_memory)
        self.assertIsInstance(meter, HookMeter)
        meter.start()
        self.assertEqual(meter.stop(), 42)

    def test_a_reading_is_bytes_when_it_is_a_whole_number_of_0_or_more(self):
        class NumpyLikeInt:
            def __index__(self):
                return 7

        for value, want in ((5, 5), (0, 0), (3.0, 3), (NumpyLikeInt(), 7), (-1, None), (2.5, None),
                            (True, None), (None, None), ("5", None)):
            self.assertEqual(as_bytes(value), want, repr(value))


if __name__ == "__main__":
    unittest.main()
