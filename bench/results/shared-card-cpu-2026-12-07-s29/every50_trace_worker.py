"""shared_memory_worker.py with a line on stderr for each batch (size, need, what the other workers hold) and each release: the trace of README.md's every50 section."""
import os, sys, time
HERE = os.path.dirname(os.path.abspath(__file__)); ROOT = os.path.join(HERE, "..", "..", "..")
sys.path.insert(0, os.path.join(ROOT, "sdk", "python", "tests", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "sdk", "python"))
import gpupool
from shared_memory_worker import Shared
T0 = time.time()
class Traced(Shared):
    def predict(self, batch):
        need = sum(item.get("mem", 1) for item in batch)
        others = self.others()
        heavy = any(item.get("mem", 1) > 10 for item in batch)
        try:
            out = super().predict(batch)
            print("%.3f ok n=%d need=%d others=%d held=%d%s" % (time.time()-T0, len(batch), need, others, self.held, " PAGE" if heavy else ""), file=sys.stderr, flush=True)
            return out
        except gpupool.OutOfMemory:
            print("%.3f OOM n=%d need=%d others=%d%s" % (time.time()-T0, len(batch), need, others, " PAGE" if heavy else ""), file=sys.stderr, flush=True)
            raise
    def release_device_memory(self):
        print("%.3f release held=%d" % (time.time()-T0, self.held), file=sys.stderr, flush=True)
        super().release_device_memory()
if __name__ == "__main__":
    gpupool.serve(Traced)
