"""End to end: real worker processes on a socketpair, driven frame by frame."""
import os
import signal
import tempfile
import time
import unittest

from tests._harness import READY, WorkerProcess, frame

SDK = "python/0.1.0"
EXIT_FATAL = 70


class WorkerTest(unittest.TestCase):
    def spawn(self, fixture, **kw):
        w = WorkerProcess(fixture, **kw)
        self.addCleanup(w.close)
        return w

    def started(self, fixture="scripted_worker.py", **kw):
        w = self.spawn(fixture, **kw)
        hello, ready = w.handshake()
        self.assertEqual(hello["type"], "hello")
        self.assertEqual(ready, READY if "MAX_BATCH" not in kw.get("env", {})
                         else dict(READY, max_batch=int(kw["env"]["MAX_BATCH"])))
        return w

    def assertNextBytes(self, w, want):
        """The next frame on the wire is exactly `want`."""
        got = w.sock.recv(1 << 16)
        while len(got) < 4 + len(want):
            got += w.sock.recv(1 << 16)
        self.assertEqual(got, frame(want))

    def without_traceback(self, msg):
        msg = dict(msg)
        tb = msg.pop("traceback", None)
        return msg, tb


class Handshake(WorkerTest):
    def test_hello_then_ready_on_cpu(self):
        w = self.spawn("noop_worker.py")
        hello = w.read()
        self.assertEqual(hello, {"type": "hello", "protocol": 1, "pid": w.proc.pid, "sdk": SDK, "devices": []})
        self.assertEqual(w.read(), READY)

    def test_ready_says_how_long_the_worker_polls_for_its_next_batch(self):
        for spin, ready in (("250", dict(READY, poll_us=250)), ("0", {"type": "ready", "release": True})):
            w = self.spawn("noop_worker.py", env={"GPUPOOL_SPIN_US": spin})
            self.assertEqual(w.read()["type"], "hello")
            self.assertEqual(w.read(), ready)

    def test_max_batch_is_sent_in_ready(self):
        self.started(env={"MAX_BATCH": "7"})

    def test_setup_gets_the_device(self):
        path = os.path.join(tempfile.mkdtemp(), "device")
        self.started(env={"SETUP_FILE": path, "GPUPOOL_DEVICE_IDS": "0", "GPUPOOL_WORKER_ID": "m/cpu/3",
                          "GPUPOOL_MODEL": "m"})
        with open(path) as f:
            self.assertEqual(f.read(), "Device(kind='cpu', torch='cpu', count=1, ids=['0'], uuids=[], "
                                       "worker_id='m/cpu/3', model='m')")

    def test_hello_is_sent_before_a_slow_setup(self):
        w = self.spawn("slow_worker.py", env={"SETUP_SLEEP_MS": "1500"})
        t0 = time.monotonic()
        self.assertEqual(w.read()["type"], "hello")
        t_hello = time.monotonic() - t0
        self.assertEqual(w.read(), READY)
        self.assertGreater(time.monotonic() - t0 - t_hello, 1.0)

    def test_setup_failure_sends_fatal_with_traceback_and_exits_1(self):
        w = self.spawn("setup_fail_worker.py")
        self.assertEqual(w.read()["type"], "hello")
        msg, tb = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "fatal", "message": "RuntimeError: model file not found: /nonexistent/model.bin"})
        self.assertIn("Traceback (most recent call last)", tb)
        self.assertIn("in setup", tb)
        self.assertIn("RuntimeError: model file not found", tb)
        self.assertIsNone(w.read())
        self.assertEqual(w.wait(), 1)

    def test_run_worker_functions(self):
        w = self.spawn("fn_worker.py")
        self.assertEqual(w.read()["type"], "hello")
        self.assertEqual(w.read(), dict(READY, max_batch=16))
        w.send({"type": "batch", "id": 1, "items": ["a", "b"]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [
            {"n": 2, "kind": "cpu", "item": "a"}, {"n": 2, "kind": "cpu", "item": "b"}]})

    def test_no_protocol_fd_is_a_clear_error(self):
        w = self.spawn("noop_worker.py", env={"GPUPOOL_PROTOCOL_FD": "97"})
        self.assertEqual(w.wait(), 2)
        self.assertIn("GPUPOOL_PROTOCOL_FD='97' is not an open descriptor", w.output()[1])

    def test_bad_spin_setting_is_a_clear_error(self):
        w = self.spawn("noop_worker.py", env={"GPUPOOL_SPIN_US": "fast"})
        self.assertEqual(w.wait(), 2)
        self.assertIn("GPUPOOL_SPIN_US='fast': expected whole microseconds from 0 (no polling) to 1000000",
                      w.output()[1])


class Batches(WorkerTest):
    def test_result_in_order_of_items(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [{"echo": "a"}, {"echo": {"x": [1, 2.5, None, True]}}, "plain", 3]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": ["a", {"x": [1, 2.5, None, True]}, "plain", 3]})

    def test_exact_bytes_of_a_result_frame(self):
        w = self.started("noop_worker.py")
        w.send_raw(frame(b'{"type":"batch","id":5,"items":[{"t":"h\\u00e9"},[1,2]]}'))
        self.assertNextBytes(w, b'{"type":"result","id":5,"outputs":[{"t":"h\\u00e9"},[1,2]]}')

    def test_result_array_when_gpupool_names_it(self):
        # The gpupool that names result_array in GPUPOOL_RESULT_FORMS gets the outputs as one
        # JSON array after a header line; the bytes are exact.
        w = self.started("noop_worker.py", env={"GPUPOOL_RESULT_FORMS": "result_lines,result_array"})
        w.send_raw(frame(b'{"type":"batch","id":5,"items":[{"t":"h\\u00e9, \\"q\\""},[1,2],null]}'))
        self.assertNextBytes(w, b'{"type":"result_array","id":5,"count":3,"strict":true}\n[{"t":"h\\u00e9, \\"q\\""},[1,2],null]')

    def test_item_errors_go_as_result_lines_where_gpupool_reads_them_each_output_as_written(self):
        # Not the classic result, which gpupool parses and writes again: a number above 2^53 or
        # a 1.0 beside an item error would come out changed.
        w = self.started(env={"GPUPOOL_RESULT_FORMS": "result_lines,result_array"})
        w.send_raw(frame(b'{"type":"batch","id":4,"items":[{"echo":{"big":9223372036854775807,"f":1.0}},{"item_error":"empty"}]}'))
        self.assertNextBytes(w, b'{"type":"result_lines","id":4,"count":2,"errors":{"1":{"message":"empty"}}}\n'
                                b'{"big":9223372036854775807,"f":1.0}\nnull')

    def test_item_errors_keep_the_classic_result_even_with_result_array(self):
        w = self.started(env={"GPUPOOL_RESULT_FORMS": "result_array"})
        w.send({"type": "batch", "id": 3, "items": [{"echo": "ok"}, {"item_error": "image is empty"}]})
        self.assertEqual(w.read(), {"type": "result", "id": 3, "outputs": ["ok", None], "errors": {
            "1": {"message": "image is empty"}}})

    def test_two_batches_in_flight_answered_once_each(self):
        w = self.started()
        for i in range(1, 11):
            w.send({"type": "batch", "id": i, "items": [{"echo": i}] * i})
        got = {}
        for _ in range(10):
            msg = w.read()
            self.assertNotIn(msg["id"], got)
            got[msg["id"]] = msg
        self.assertEqual(got, {i: {"type": "result", "id": i, "outputs": [i] * i} for i in range(1, 11)})

    def test_empty_batch(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": []})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": []})

    def test_item_error_fails_that_item_alone(self):
        w = self.started()
        w.send({"type": "batch", "id": 3, "items": [{"echo": "ok"}, {"item_error": "image is empty"},
                                                    {"item_error": "bad", "code": "E_BAD"}, {"echo": 4}]})
        self.assertEqual(w.read(), {"type": "result", "id": 3, "outputs": ["ok", None, None, 4], "errors": {
            "1": {"message": "image is empty"}, "2": {"message": "bad", "code": "E_BAD"}}})

    def test_outputs_json_cannot_hold(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [{"nan": True}, {"tuple": [1, 2]}, {"unjson": True}, {"echo": "x"}]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [None, [1, 2], None, "x"], "errors": {
            "2": {"message": "output is not JSON: TypeError: object is not JSON serializable"}}})

    def test_exception_fails_the_batch(self):
        w = self.started()
        w.send({"type": "batch", "id": 4, "items": [{"echo": 1}, {"raise": "tokenizer exploded"}]})
        msg, tb = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 4, "kind": "batch", "message": "ValueError: tokenizer exploded"})
        self.assertIn("in predict", tb)
        # the worker goes on
        w.send({"type": "batch", "id": 5, "items": [{"echo": 1}]})
        self.assertEqual(w.read(), {"type": "result", "id": 5, "outputs": [1]})

    def test_wrong_number_of_outputs_fails_the_batch(self):
        w = self.started()
        w.send({"type": "batch", "id": 6, "items": [{"short": True}, {"echo": 2}]})
        msg, _ = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 6, "kind": "batch",
                               "message": "ValueError: predict returned 1 outputs for 2 inputs"})

    def test_predict_must_return_a_sequence(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [{"return_none": True}]})
        msg, _ = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 1, "kind": "batch", "message":
                               "TypeError: predict returned NoneType; it must return a list with one output per input"})
        w.send({"type": "batch", "id": 2, "items": [{"as_tuple": True}, 5]})
        self.assertEqual(w.read(), {"type": "result", "id": 2, "outputs": [{"as_tuple": True}, 5]})

    def test_out_of_memory_is_oom_and_the_worker_goes_on(self):
        w = self.started()
        w.send({"type": "batch", "id": 7, "items": [{"oom": "too big"}]})
        msg, _ = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 7, "kind": "oom", "message": "OutOfMemory: too big"})
        w.send({"type": "runtime", "id": 8})  # unknown type: ignored
        w.send({"type": "batch", "id": 8, "items": [{"runtime": "CUDA out of memory. Tried to allocate 2.00 GiB"}]})
        msg, _ = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 8, "kind": "oom",
                               "message": "RuntimeError: CUDA out of memory. Tried to allocate 2.00 GiB"})
        w.send({"type": "batch", "id": 9, "items": [{"echo": "still here"}]})
        self.assertEqual(w.read(), {"type": "result", "id": 9, "outputs": ["still here"]})

    def test_release_calls_the_hook_and_answers_released(self):
        device = tempfile.mkdtemp()
        w = self.started("shared_memory_worker.py", env={"SHARED_DEVICE_DIR": device})
        w.send({"type": "batch", "id": 1, "items": [{"mem": 5}, {"mem": 2}]})
        self.assertEqual(w.read()["type"], "result")
        held = os.path.join(device, str(w.proc.pid))
        with open(held) as f:
            self.assertEqual(f.read(), "7")
        w.send({"type": "release"})
        self.assertEqual(w.read(), {"type": "released"})
        with open(held) as f:
            self.assertEqual(f.read(), "0")
        w.send({"type": "batch", "id": 2, "items": [{"n": 1}]})
        # The fixture says what each batch needed (`batch_memory`), as the SDK's PyTorch meter does.
        self.assertEqual(w.read(), {"type": "result", "id": 2, "outputs": [{"n": 1}], "batch_memory": 1})

    def test_release_is_answered_by_a_worker_without_a_hook_and_by_a_pipelined_one(self):
        for fixture in ("scripted_worker.py", "pipelined_worker.py"):
            w = self.spawn(fixture)
            self.assertEqual(w.read()["type"], "hello")
            self.assertTrue(w.read()["release"])
            w.send({"type": "release"})
            self.assertEqual(w.read(), {"type": "released"}, fixture)

    def test_illegal_memory_access_is_fatal_and_the_process_exits(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [{"runtime": "CUDA error: an illegal memory access was encountered"}]})
        w.send({"type": "batch", "id": 2, "items": [{"echo": "never answered"}]})
        msg, tb = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 1, "kind": "fatal",
                               "message": "RuntimeError: CUDA error: an illegal memory access was encountered"})
        self.assertIsNone(w.read())
        self.assertEqual(w.wait(), EXIT_FATAL)

    def test_device_error_while_copying_outputs_is_fatal_for_the_batch(self):
        # A CUDA error is asynchronous: it may surface only when predict's output tensors are
        # copied to the host, after predict returned. It must fail the batch as fatal (retried on
        # a fresh worker), not fail each item alone as "not JSON" (final, items lost).
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [
            {"echo": 1}, {"lazy_error": "CUDA error: device-side assert triggered"}]})
        msg, _ = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 1, "kind": "fatal",
                               "message": "RuntimeError: CUDA error: device-side assert triggered"})
        self.assertIsNone(w.read())
        self.assertEqual(w.wait(), EXIT_FATAL)

    def test_out_of_memory_while_copying_outputs_is_oom(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [{"lazy_error": "CUDA out of memory. Tried to allocate 8.00 GiB"}]})
        msg, _ = self.without_traceback(w.read())
        self.assertEqual((msg["kind"], msg["id"]), ("oom", 1), msg)
        # an ordinary conversion error still fails that item alone
        w.send({"type": "batch", "id": 2, "items": [{"lazy_error": "cannot convert"}, {"echo": 2}]})
        self.assertEqual(w.read(), {"type": "result", "id": 2, "outputs": [None, 2], "errors": {
            "0": {"message": "output is not JSON: RuntimeError: cannot convert"}}})

    def test_gpupool_fatal_is_fatal(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [{"fatal": "device lost"}]})
        msg, _ = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 1, "kind": "fatal", "message": "Fatal: device lost"})
        self.assertEqual(w.wait(), EXIT_FATAL)

    def test_prints_go_to_stdout_not_the_protocol(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [{"print": "hello from the model", "echo": 1}]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [1]})
        w.send({"type": "stop"})
        self.assertEqual(w.wait(), 0)
        self.assertIn("hello from the model", w.output()[0])

    def test_unknown_fields_and_string_ids(self):
        w = self.started()
        w.send({"type": "batch", "id": "b-1", "items": [1], "deadline_ms": 5, "future": {"x": 1}})
        self.assertEqual(w.read(), {"type": "result", "id": "b-1", "outputs": [1]})

    def test_large_batch_frame(self):
        w = self.started("noop_worker.py")
        items = [{"blob": "x" * 100_000, "i": i} for i in range(40)]  # ~4 MB, past the 1 MiB buffer
        w.send({"type": "batch", "id": 1, "items": items})
        w.send({"type": "batch", "id": 2, "items": [1]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": items})
        self.assertEqual(w.read(), {"type": "result", "id": 2, "outputs": [1]})


class Lifecycle(WorkerTest):
    def test_stop_answers_in_flight_batches_then_tears_down_and_exits_0(self):
        path = os.path.join(tempfile.mkdtemp(), "teardown")
        w = self.started(env={"TEARDOWN_FILE": path})
        w.send({"type": "batch", "id": 1, "items": [{"sleep_ms": 300, "echo": "a"}]})
        w.send({"type": "batch", "id": 2, "items": [{"echo": "b"}]})
        w.send({"type": "stop"})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": ["a"]})
        self.assertEqual(w.read(), {"type": "result", "id": 2, "outputs": ["b"]})
        self.assertIsNone(w.read())
        self.assertEqual(w.wait(), 0)
        with open(path) as f:
            self.assertEqual(f.read(), "torn down")

    def test_eof_exits_promptly(self):
        w = self.started()
        w.sock.close()
        self.assertEqual(w.wait(timeout=5), 0)

    def test_eof_while_predicting_exits(self):
        w = self.started()
        w.send({"type": "batch", "id": 1, "items": [{"sleep_ms": 300}]})
        time.sleep(0.05)
        w.sock.close()
        self.assertEqual(w.wait(timeout=5), 0)

    def test_eof_inside_a_frame_is_a_protocol_error(self):
        w = self.started()
        w.send_raw(frame({"type": "batch", "id": 1, "items": [1]})[:10])
        w.sock.shutdown(socket_SHUT_WR)
        self.assertEqual(w.read(), {"type": "fatal", "message": "protocol error: end of stream inside a frame (6 of its 40 bytes)"})
        self.assertEqual(w.wait(), 2)

    def test_oversized_frame_is_a_protocol_error(self):
        w = self.started()
        w.send_raw((256 * 1024 * 1024 + 1).to_bytes(4, "little"))
        self.assertEqual(w.read(), {"type": "fatal", "message":
                                    "protocol error: frame of 268435457 bytes exceeds the 268435456-byte limit"})
        self.assertEqual(w.wait(), 2)

    def test_sigint_is_ignored(self):
        w = self.started()
        w.proc.send_signal(signal.SIGINT)
        time.sleep(0.1)
        w.send({"type": "batch", "id": 1, "items": [1]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [1]})

    def test_protocol_fd_is_not_inherited_by_subprocesses(self):
        w = self.started("scripted_worker.py")
        # /proc/<pid>/fdinfo/3 flags: O_CLOEXEC is 02000000 (octal)
        with open("/proc/%d/fdinfo/3" % w.proc.pid) as f:
            flags = int([l for l in f if l.startswith("flags:")][0].split()[1], 8)
        self.assertTrue(flags & 0o2000000, oct(flags))


class Fixtures(WorkerTest):
    def test_crash_worker(self):
        w = self.started("crash_worker.py", env={"CRASH_EXIT_CODE": "9"})
        w.send({"type": "batch", "id": 1, "items": [{"a": 1}]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [{"a": 1}]})
        w.send({"type": "batch", "id": 2, "items": [{"a": 1}, {"crash": True}]})
        self.assertIsNone(w.read())
        self.assertEqual(w.wait(), 9)

    def test_oom_worker(self):
        w = self.started("oom_worker.py", env={"OOM_COST_LIMIT": "10"})
        w.send({"type": "batch", "id": 1, "items": [{"cost": 6}, {"cost": 4}]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [{"cost": 6}, {"cost": 4}]})
        w.send({"type": "batch", "id": 2, "items": [{"cost": 6}, {"cost": 4}, {}]})
        msg, _ = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "failed", "id": 2, "kind": "oom",
                               "message": "OutOfMemory: batch cost 11 exceeds OOM_COST_LIMIT=10"})

    def test_slow_worker(self):
        w = self.started("slow_worker.py")
        t0 = time.monotonic()
        w.send({"type": "batch", "id": 1, "items": [{"sleep_ms": 100}, {"sleep_ms": 100}]})
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [{"sleep_ms": 100}, {"sleep_ms": 100}]})
        self.assertGreaterEqual(time.monotonic() - t0, 0.2)


socket_SHUT_WR = __import__("socket").SHUT_WR

if __name__ == "__main__":
    unittest.main()
