"""The ResNet worker of examples/torch (memory grows MEMORY_PER_ITEM_MB per item), plus a log of
every batch it is given, so that bench/gpu/oom-sweep.py can plot the learned batch limit over
time: with a deep queue every batch gpupool sends is as large as the live limit allows.

Env:
  BATCH_LOG           append "start end size outcome" per batch (wall-clock seconds; outcome
                      ok | oom | error); restarted workers append to the same file
  SWEEP_MODEL         resnet50 (default, torchvision) | tiny (three convolutions, torch only:
                      for rehearsing the script on a CPU where torchvision is missing)
  SIMULATE_OOM_ABOVE  rehearsal on a CPU only: a batch larger than this raises
                      gpupool.OutOfMemory, as the card would
and those of resnet_worker.py (MEMORY_PER_ITEM_MB, IMAGE_SIZE).
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "examples", "torch"))

import gpupool  # noqa: E402
from resnet_worker import ResNet  # noqa: E402


class SweepWorker(ResNet):
    def setup(self, device):
        log = os.environ.get("BATCH_LOG")
        self.log = open(log, "a", buffering=1) if log else None
        self.simulate_oom_above = int(os.environ.get("SIMULATE_OOM_ABOVE", "0"))
        if os.environ.get("SWEEP_MODEL", "resnet50") == "tiny":
            self.setup_tiny(device)
        else:
            super().setup(device)

    def setup_tiny(self, device):
        import torch

        self.torch = torch
        self.device = torch.device(device.torch)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        nn = torch.nn
        self.model = nn.Sequential(
            nn.Conv2d(3, 16, 3, stride=2), nn.ReLU(), nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(),
            nn.Conv2d(32, 10, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        ).to(self.device, self.dtype).eval()
        self.extra_mb = int(os.environ.get("MEMORY_PER_ITEM_MB", "0"))
        size = int(os.environ.get("IMAGE_SIZE", "32"))
        self.shape = (3, size, size)

    def predict(self, batch):
        start = time.time()
        outcome = "error"
        try:
            if self.simulate_oom_above and len(batch) > self.simulate_oom_above:
                outcome = "oom"
                raise gpupool.OutOfMemory("simulated: batch of %d > SIMULATE_OOM_ABOVE=%d"
                                          % (len(batch), self.simulate_oom_above))
            out = super().predict(batch)
            outcome = "ok"
            return out
        except Exception as e:
            if gpupool.classify(e) == "oom":
                outcome = "oom"
            raise
        finally:
            if self.log is not None:
                self.log.write("%.4f %.4f %d %s\n" % (start, time.time(), len(batch), outcome))


if __name__ == "__main__":
    gpupool.serve(SweepWorker)
