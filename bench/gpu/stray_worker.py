"""A worker that goes astray on purpose, for bench/gpu/stray-check.sh.

Pinned by gpupool to one card, it allocates a little there. On its first batch it starts a
child process the way a careless subprocess call does: CUDA_VISIBLE_DEVICES reset to "0"
(and, with STRAY_CLEAR_ENV=1, the gpupool variables dropped, so only the parent chain ties
the child to its worker). The child allocates 1 GiB on card 0, writes
"<pid> <epoch seconds after the allocation> <card uuid>" to STRAY_MARK, and sleeps.
Each item sleeps ITEM_SLEEP_S, so the job lasts while the audit looks.
"""
import os
import subprocess
import sys
import time

import gpupool

CHILD = r"""
import os, sys, time, torch
x = torch.empty(1 << 30, dtype=torch.uint8, device="cuda:0")
torch.cuda.synchronize()
uuid = str(torch.cuda.get_device_properties(0).uuid)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d %.3f GPU-%s\n" % (os.getpid(), time.time(), uuid))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(float(sys.argv[2]))
"""


class Stray(gpupool.Worker):
    def setup(self, device):
        import torch

        self.held = torch.empty(256 << 20, dtype=torch.uint8, device=device.torch)
        self.child = None
        self.sleep = float(os.environ.get("ITEM_SLEEP_S", "0.1"))

    def predict(self, batch):
        if self.child is None:
            env = dict(os.environ, CUDA_VISIBLE_DEVICES="0")
            if os.environ.get("STRAY_CLEAR_ENV", "1") == "1":
                env = {k: v for k, v in env.items() if not k.startswith("GPUPOOL_")}
            self.child = subprocess.Popen([sys.executable, "-c", CHILD, os.environ["STRAY_MARK"], "90"], env=env)
        self.child.poll()  # reaps the child once it is killed
        time.sleep(self.sleep * len(batch))
        return batch


if __name__ == "__main__":
    gpupool.serve(Stray)
