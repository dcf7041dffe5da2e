"""A worker that, in setup, starts a child process with its visibility variable reset, as a
careless subprocess call or data loader would: CUDA_VISIBLE_DEVICES="0" points the child at
card 0 whatever card the worker was given. Writes the child's PID to CHILD_PID_FILE.
Echoes its inputs."""
import os
import subprocess
import sys

import gpupool


class Spawning(gpupool.Worker):
    def setup(self, device):
        env = dict(os.environ, CUDA_VISIBLE_DEVICES="0")
        self.child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], env=env)
        path = os.environ["CHILD_PID_FILE"]
        with open(path + ".tmp", "w") as f:
            f.write(str(self.child.pid))
        os.replace(path + ".tmp", path)

    def predict(self, batch):
        self.child.poll()  # reaps the child once it is killed
        return batch


if __name__ == "__main__":
    gpupool.serve(Spawning)
