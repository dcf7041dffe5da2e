"""The gpupool worker of the scaling benchmark: the same Work as the other methods, behind the SDK.

Env: SCALING_WORKLOAD (resnet50 | encoder | mlp), SCALING_LOG_DIR (one batch log per worker).
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

    def teardown(self):
        self.log.flush()


if __name__ == "__main__":
    gpupool.serve(BenchWorker)
