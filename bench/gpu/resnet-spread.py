"""How much ResNet-50's rate differs between fresh processes, and why.

Each process builds the scaling benchmark's ResNet-50 (bench/gpu/scaling/workloads.py) on its
one visible card, runs 1 s of batches unrecorded, then times WINDOW_S of batches the way every
method but the direct loop runs them (launch, then collect: a sync per batch). It prints one JSON
line: images/s, the device time per batch (CUDA events around the forward), the host time to queue
it (launch) and the host CPU time per batch. When queueing takes as long as the device time, the
card waits for the host (~160 kernels per batch to launch); when it takes much less, the device
time is the kernels' own, and a process with a higher one picked slower kernels.

Usage on the GPU host (from the bundle, two cards, fresh processes started together as gpupool's are):
  for r in 1 2 3 4; do for b in 1 0; do
    for c in 0 1; do CUDA_VISIBLE_DEVICES=$c SCALING_CUDNN_BENCHMARK=$b python3 bench/gpu/resnet-spread.py & done; wait
  done; done
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "scaling"))
import torch  # noqa: E402
import workloads  # noqa: E402

WINDOW_S = float(os.environ.get("SPREAD_WINDOW_S", "4"))

t_load = time.time()
work = workloads.build("resnet50", "cuda:0")
load_s = time.time() - t_load
batch = [{"seed": i} for i in range(workloads.RESNET["batch"])]
until = time.time() + 1.0
while time.time() < until:
    work.collect(work.launch(batch))

start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
device_ms, launch_s, n = 0.0, 0.0, 0
t0, c0 = time.time(), time.process_time()
while time.time() - t0 < WINDOW_S:
    start.record()
    t_launch = time.perf_counter()
    handle = work.launch(batch)
    launch_s += time.perf_counter() - t_launch
    end.record()
    work.collect(handle)
    device_ms += start.elapsed_time(end)
    n += 1
wall = time.time() - t0
print(json.dumps({
    "card": os.environ.get("CUDA_VISIBLE_DEVICES"), "cudnn_benchmark": torch.backends.cudnn.benchmark,
    "images_per_s": round(n * len(batch) / wall), "batches": n, "load_s": round(load_s, 1),
    "device_ms_per_batch": round(device_ms / n, 3), "launch_ms_per_batch": round(1000 * launch_s / n, 3), "wall_ms_per_batch": round(1000 * wall / n, 3),
    "host_cpu_ms_per_batch": round(1000 * (time.process_time() - c0) / n, 3),
}), flush=True)
