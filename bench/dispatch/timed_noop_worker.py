"""The Python SDK's no-op worker for latency-trace.ts: notes when each batch reaches predict and
when its answer has been sent (epoch ms), written to $MARKS_OUT at exit."""
import atexit
import json
import os
import signal
import sys
import time

import gpupool
import gpupool.worker as sdk_worker

marks, ends = [], []


def dump():
    with open(os.environ["MARKS_OUT"], "w") as f:
        json.dump({"marks": marks, "ends": ends, "gcs": []}, f)  # no collector pauses of V8's kind


atexit.register(dump)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

_answer = sdk_worker._answer


def timed_answer(*args):
    _answer(*args)
    ends.append(time.time() * 1000)


sdk_worker._answer = timed_answer  # looked up when the loop starts, so set before serve()


class Echo(gpupool.Worker):
    def predict(self, batch):
        marks.append(time.time() * 1000)
        return batch


gpupool.serve(Echo)
