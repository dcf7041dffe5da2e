"""The smallest useful gpupool worker: echoes its input. Used by the demo config and benchmarks."""
import gpupool


class Echo(gpupool.Worker):
    def setup(self, device):
        self.device = device

    def predict(self, batch):
        return batch


if __name__ == "__main__":
    gpupool.serve(Echo)
