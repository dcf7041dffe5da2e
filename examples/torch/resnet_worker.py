"""ResNet-50 (torchvision, weights=None: nothing is downloaded) in fp16 on the worker's device.

Inputs are small descriptors, {"seed": n}; the worker makes the image on the device, so what
is measured is the model and the orchestration, not a data path. Output: the top class.
Env MEMORY_PER_ITEM_MB makes each item also hold that much extra device memory during the
batch, so memory grows with batch size (used by the out-of-memory benchmark); an input's own
"extra_mb" overrides it for that item (one page far larger than the others).
"""
import os

import gpupool


class ResNet(gpupool.Worker):
    def setup(self, device):
        import torch
        import torchvision

        self.torch = torch
        self.device = torch.device(device.torch)
        self.dtype = torch.float16 if self.device.type == "cuda" else torch.float32
        self.model = torchvision.models.resnet50(weights=None).to(self.device, self.dtype).eval()
        self.extra_mb = int(os.environ.get("MEMORY_PER_ITEM_MB", "0"))
        size = int(os.environ.get("IMAGE_SIZE", "224"))
        self.shape = (3, size, size)
        # One warm-up so cuDNN picks its kernels before the first timed batch.
        with torch.inference_mode():
            self.model(torch.zeros((1, *self.shape), device=self.device, dtype=self.dtype))

    def predict(self, batch):
        torch = self.torch
        n = len(batch)
        with torch.inference_mode():
            x = torch.randn((n, *self.shape), device=self.device, dtype=self.dtype)
            hold = None
            extra = sum(item.get("extra_mb", self.extra_mb) for item in batch)
            if extra:
                hold = torch.empty((extra * 1024 * 1024,), dtype=torch.uint8, device=self.device)
            top = self.model(x).argmax(dim=1).tolist()
            del hold
        return [{"class": c} for c in top]


if __name__ == "__main__":
    gpupool.serve(ResNet)
