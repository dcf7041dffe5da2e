"""launch/collect workers: batch k+1 is launched before batch k is collected (real processes)."""
import time

from tests._harness import READY, frame
from tests.test_worker_process import WorkerTest

FIXTURE = "pipelined_worker.py"


def batch(bid, *items):
    return {"type": "batch", "id": bid, "items": list(items)}


class Pipelined(WorkerTest):
    def start(self, **kw):
        w = self.spawn(FIXTURE, **kw)
        hello, ready = w.handshake()
        self.assertEqual(hello["type"], "hello")
        self.assertEqual(ready, dict(READY, pipeline=2))
        return w

    def send_together(self, w, *msgs):
        # One write: every frame is in the worker's buffer when it reads the first.
        w.send_raw(b"".join(frame(m) for m in msgs))

    def read_all(self, w, n):
        got = {}
        for _ in range(n):
            msg = w.read()
            self.assertNotIn(msg["id"], got, "a batch answered twice")
            got[msg["id"]] = msg
        return got

    def test_the_next_batch_is_launched_before_the_last_is_collected(self):
        w = self.start()
        self.send_together(w, batch(1, {"v": 1, "events": True}), batch(2, {"v": 2, "events": True}))
        got = self.read_all(w, 2)
        self.assertEqual(got[1]["outputs"], [{"v": 1, "open": 2, "events": ["L1", "L2", "C1"]}])
        self.assertEqual(got[2]["outputs"], [{"v": 2, "open": 1, "events": ["L1", "L2", "C1", "C2"]}])

    def test_a_lone_batch_is_collected_without_waiting_for_another(self):
        w = self.start()
        t0 = time.monotonic()
        w.send(batch(1, {"v": 1}))
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [{"v": 1, "open": 1}]})
        self.assertLess(time.monotonic() - t0, 5.0)
        w.send(batch(2, {"v": 2}))  # and the next, alone too
        self.assertEqual(w.read(), {"type": "result", "id": 2, "outputs": [{"v": 2, "open": 1}]})

    def test_never_more_than_two_launched_and_each_batch_answered_once(self):
        w = self.start()
        self.send_together(w, *[batch(i, {"v": i}) for i in range(1, 9)])
        got = self.read_all(w, 8)
        self.assertEqual(sorted(got), list(range(1, 9)))
        opens = [got[i]["outputs"][0]["open"] for i in range(1, 9)]
        self.assertEqual(opens[:7], [2] * 7)  # a next batch was always waiting…
        self.assertEqual(opens[7], 1)         # …except behind the last

    def test_a_failed_launch_fails_that_batch_alone(self):
        w = self.start()
        self.send_together(w, batch(1, {"v": 1}), batch(2, {"launch_raise": "bad input"}), batch(3, {"v": 3}))
        got = self.read_all(w, 3)
        failed, tb = self.without_traceback(got[2])
        self.assertEqual(failed, {"type": "failed", "id": 2, "kind": "batch", "message": "ValueError: bad input"})
        self.assertIn("in launch", tb)
        self.assertEqual(got[1]["outputs"], [{"v": 1, "open": 2}])
        self.assertEqual(got[3]["outputs"], [{"v": 3, "open": 1}])

    def test_a_failed_collect_fails_that_batch_alone(self):
        w = self.start()
        self.send_together(w, batch(1, {"collect_raise": "lost"}), batch(2, {"v": 2}))
        got = self.read_all(w, 2)
        failed, tb = self.without_traceback(got[1])
        self.assertEqual(failed, {"type": "failed", "id": 1, "kind": "batch", "message": "ValueError: lost"})
        self.assertIn("in collect", tb)
        self.assertEqual(got[2]["outputs"], [{"v": 2, "open": 1}])

    def test_item_error_from_collect_fails_that_item_alone(self):
        w = self.start()
        w.send(batch(1, {"v": 1}, {"item_error": "empty page"}))
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [{"v": 1, "open": 1}, None],
                                    "errors": {"1": {"message": "empty page"}}})

    def test_stop_collects_what_was_launched_then_exits_0(self):
        w = self.start()
        self.send_together(w, batch(1, {"v": 1, "sleep_ms": 200}), batch(2, {"v": 2}), {"type": "stop"})
        got = self.read_all(w, 2)
        self.assertEqual(got[1]["outputs"], [{"v": 1, "open": 2}])
        self.assertEqual(got[2]["outputs"], [{"v": 2, "open": 1}])
        self.assertIsNone(w.read())
        self.assertEqual(w.wait(), 0)

    def test_launch_without_collect_is_a_setup_error(self):
        w = self.spawn(FIXTURE, env={"LAUNCH_ONLY": "1"})
        self.assertEqual(w.read()["type"], "hello")
        msg, _ = self.without_traceback(w.read())
        self.assertEqual(msg, {"type": "fatal", "message": "TypeError: a gpupool.Worker with launch must also define "
                                                          "collect (or neither, and predict)"})
        self.assertEqual(w.wait(), 1)

    def test_launch_alone_next_to_predict_is_a_helper_and_predict_is_used(self):
        w = self.spawn(FIXTURE, env={"LAUNCH_AND_PREDICT": "1"})
        self.assertEqual(w.read()["type"], "hello")
        self.assertEqual(w.read(), READY)
        w.send(batch(1, {"v": 1}))
        self.assertEqual(w.read(), {"type": "result", "id": 1, "outputs": [{"v": 1, "predicted": True}]})
        w.sock.close()
        self.assertEqual(w.wait(), 0)
        self.assertIn("launch is defined but collect is not: using predict", w.output()[1])
