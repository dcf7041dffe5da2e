"""A PyTorch worker that triggers a real, sticky CUDA error on a poison input
(bench/gpu/fatal-check.sh).

  {"seed": n}                     output {"sum": 1000 * n + 499500, "pid": …}, computed on the device
  {"seed": n, "poison": "assert"}  indexes a CUDA tensor out of range: the kernel's bounds check
                                   fires, "CUDA error: device-side assert triggered"
  {"seed": n, "poison": "illegal"} reads through a view whose stride points 1 TiB past a real
                                   allocation (made with __cuda_array_interface__, which torch
                                   trusts): "CUDA error: an illegal memory access was encountered"

Both errors are sticky: every later CUDA call in this process fails too, so the SDK answers
`failed` kind `fatal` and exits (status 70), and gpupool starts a fresh worker. On a CPU
(GPUPOOL_DEVICE_KIND=cpu, for rehearsing the check) a poison raises the same message as a
RuntimeError, which is all the SDK sees of it.
"""
import os

import gpupool


def trigger_assert(torch, device):
    x = torch.zeros(3, device=device)
    index = torch.tensor([5], device=device)
    return x[index].sum().item()  # the kernel asserts; .item() waits for it and raises


class _BadView:
    """A CUDA array interface over a real allocation, with a stride far past its end."""

    def __init__(self, base):
        self.base = base  # keeps the allocation alive
        self.__cuda_array_interface__ = {
            "shape": (2,), "typestr": "<f4", "data": (base.data_ptr(), False),
            "strides": (1 << 40,), "version": 2,
        }


def trigger_illegal_access(torch, device):
    base = torch.zeros(16, device=device)
    view = torch.as_tensor(_BadView(base), device=device)
    return view.sum().item()


TRIGGERS = {"assert": trigger_assert, "illegal": trigger_illegal_access}
CPU_MESSAGES = {"assert": "CUDA error: device-side assert triggered",
                "illegal": "CUDA error: an illegal memory access was encountered"}


class FatalWorker(gpupool.Worker):
    def setup(self, device):
        import torch

        self.torch = torch
        self.device = torch.device(device.torch)
        self.pid = os.getpid()
        self.offsets = torch.arange(1000, device=self.device)

    def predict(self, batch):
        torch = self.torch
        for item in batch:
            mode = item.get("poison")
            if mode:
                if self.device.type == "cpu":
                    raise RuntimeError(CPU_MESSAGES[mode])
                TRIGGERS[mode](torch, self.device)
        seeds = torch.tensor([item["seed"] for item in batch], device=self.device)
        sums = (seeds.unsqueeze(1) + self.offsets.unsqueeze(0)).sum(dim=1).tolist()
        return [{"sum": s, "pid": self.pid} for s in sums]


if __name__ == "__main__":
    gpupool.serve(FatalWorker)
