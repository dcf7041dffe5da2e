"""Why a fresh process runs the scaling benchmark's encoder slowly (issue 7), on the GPU host:

    python3 bench/gpu/encoder-warmup.py cudnn      # PyTorch's default attention on H100/H200 (cuDNN)
    python3 bench/gpu/encoder-warmup.py nocudnn    # cuDNN attention off (what workloads.py now does)
    python3 bench/gpu/encoder-warmup.py cublas     # cuDNN attention, cuBLAS instead of cuBLASLt
    python3 bench/gpu/encoder-warmup.py profile    # torch.profiler over the first 40 batches (cuDNN)

Tokens/s every 2 s in a fresh process (no warm-up) over the benchmark's batch stream, with the
number of distinct (rows, padded length) shapes seen so far; then the same batches again.
Results: bench/results/gpu-encoder-warmup/.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "scaling"))
mode = sys.argv[1] if len(sys.argv) > 1 else "cudnn"
os.environ["SCALING_ENCODER_WARMUP_S"] = "0"
if mode != "nocudnn":
    os.environ["SCALING_ENCODER_CUDNN_SDP"] = "1"
import torch  # noqa: E402
import workloads as W  # noqa: E402

if mode == "cublas":
    torch.backends.cuda.preferred_blas_library("cublas")
t0 = time.time()
work = W.build("encoder", "cuda:0")
print("build", round(time.time() - t0, 1), flush=True)
stream = list(W.batches("encoder", 0, 300000))

if mode == "profile":
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t = time.time()
        for b in stream[:40]:
            work.predict(b)
        torch.cuda.synchronize()
        print("40 batches", round(time.time() - t, 2), flush=True)
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
    t = time.time()
    for b in stream[:40]:
        work.predict(b)
    torch.cuda.synchronize()
    print("same 40 again", round(time.time() - t, 2), flush=True)
    sys.exit(0)


def run(label, seconds):
    shapes, tok, k, out = set(), 0, 0, []
    t = last = time.time()
    for b in stream:
        groups, cost = work._groups(b)
        shapes.update((len(idx), length) for length, idx in groups.items())
        work.predict(b)
        tok += cost
        k += 1
        now = time.time()
        if now - last >= 2:
            out.append((round(now - t, 1), round(tok / (now - last)), len(shapes)))
            tok, last = 0, now
        if now - t > seconds:
            break
    print(label, json.dumps(out), "batches", k, flush=True)
    return k


n = run("pass1", 40)
del stream[n:]
run("pass2-same-batches", 20)
