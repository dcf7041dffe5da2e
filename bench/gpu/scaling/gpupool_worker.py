"""The gpupool worker of the scaling benchmark: the same Work as the other methods, behind the SDK.

Env: SCALING_WORKLOAD (resnet50 | encoder | mlp), SCALING_LOG_DIR (one batch log per worker),
SCALING_PLAIN_PREDICT=1 (predict only: one batch at a time, as the schemes run; else launch/collect,
so the SDK launches the next batch before it collects the last).

A batch's logged span runs from its launch to the end of its collect, so with launch/collect two
spans overlap: the log's busy time is the device's, not the sum of the spans.
"""
import os
import time

import gpupool

from batch_log import BatchLog
from workloads import build


class BenchWorker(gpupool.Worker):
    def setup(self, device):
        self.work = build(os.environ["SCALING_WORKLOAD"], device.torch)
        name = device.worker_id.replace("/", "_").replace(":", "")
        self.log = BatchLog(os.path.join(os.environ["SCALING_LOG_DIR"], name + ".log"))

    def predict(self, batch):
        t0 = time.time()
        outputs, cost = self.work.predict(batch)
        self.log.add(t0, time.time(), len(batch), cost)
        return outputs

    def launch(self, batch):
        return time.time(), self.work.launch(batch), len(batch)

    def collect(self, launched):
        t0, handle, n = launched
        outputs, cost = self.work.collect(handle)
        self.log.add(t0, time.time(), n, cost)
        return outputs

    def teardown(self):
        self.log.flush()


class PlainPredictWorker(BenchWorker):
    launch = None  # the SDK sees no launch/collect: plain predict, one batch at a time
    collect = None


if __name__ == "__main__":
    gpupool.serve(PlainPredictWorker if os.environ.get("SCALING_PLAIN_PREDICT") == "1" else BenchWorker)
