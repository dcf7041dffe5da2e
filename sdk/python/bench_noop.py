#!/usr/bin/env python3
"""Throughput of a no-op (echo) Python worker, driven over a socketpair like gpupool drives it.

    python3 sdk/python/bench_noop.py [--batch 64] [--inflight 2] [--seconds 5] [--worker PATH]

Starts the worker as a child with the socket on fd 3, does hello/ready, then keeps
`--inflight` batches of `--batch` small items in flight and prints items/s. The driver
decodes every result (json.loads) and checks its id and length, as a host would.
"""
import argparse
import json
import os
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
HDR = struct.Struct("<I")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--inflight", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--worker", default=os.path.join(HERE, "tests", "fixtures", "noop_worker.py"))
    ap.add_argument("--python", default=sys.executable)
    args = ap.parse_args()

    parent, child = socket.socketpair()
    env = dict(os.environ, GPUPOOL_PROTOCOL_FD="3", GPUPOOL_DEVICE_KIND="cpu", GPUPOOL_WORKER_ID="bench/cpu/0",
               GPUPOOL_MODEL="bench", PYTHONPATH=HERE + os.pathsep + os.environ.get("PYTHONPATH", ""))
    # The child end becomes fd 3 in the worker. Not pass_fds: Popen closes every fd not
    # listed *after* preexec_fn runs, which would close the fresh fd 3; with close_fds=False
    # only inheritable fds survive exec, and Python opens everything non-inheritable.
    proc = subprocess.Popen([args.python, args.worker], env=env, close_fds=False,
                            preexec_fn=lambda: os.dup2(child.fileno(), 3))
    child.close()

    buf = bytearray()

    def read_frame():
        nonlocal buf
        while True:
            if len(buf) >= 4:
                n = HDR.unpack_from(buf)[0]
                if len(buf) >= 4 + n:
                    payload = bytes(buf[4:4 + n])
                    del buf[:4 + n]
                    return json.loads(payload)
            chunk = parent.recv(1 << 20)
            if not chunk:
                raise SystemExit("worker closed the stream")
            buf += chunk

    t0 = time.perf_counter()
    hello = read_frame()
    ready = read_frame()
    assert hello["type"] == "hello" and ready["type"] == "ready", (hello, ready)
    print("hello+ready in %.1f ms (%s, %s)" % ((time.perf_counter() - t0) * 1e3, hello.get("sdk"), args.worker))

    items = ",".join(json.dumps({"i": k, "text": "item %d" % k}, separators=(",", ":")) for k in range(args.batch))
    template = '{"type":"batch","id":%d,"items":[' + items + ']}'

    def send_batch(bid):
        p = (template % bid).encode()
        parent.sendall(HDR.pack(len(p)) + p)

    next_id = 1
    for _ in range(args.inflight):
        send_batch(next_id)
        next_id += 1
    done = 0
    deadline = time.perf_counter() + args.seconds
    t_start = time.perf_counter()
    while True:
        msg = read_frame()
        if msg["type"] != "result" or len(msg["outputs"]) != args.batch:
            raise SystemExit("unexpected answer: %.300r" % (msg,))
        done += 1
        if time.perf_counter() >= deadline:
            break
        send_batch(next_id)
        next_id += 1
    elapsed = time.perf_counter() - t_start
    items_s = done * args.batch / elapsed
    stop = b'{"type":"stop"}'
    parent.sendall(HDR.pack(len(stop)) + stop)
    # drain the remaining in-flight answers
    for _ in range(next_id - 1 - done):
        read_frame()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    me = os.times()
    print("%d batches x %d items in %.2f s: %.0f items/s, %.0f batches/s (worker exit %d)"
          % (done, args.batch, elapsed, items_s, done / elapsed, proc.returncode))
    print("cpu: worker %.2f s (%.1f us/batch), driver %.2f s; %d cpus"
          % (usage.ru_utime + usage.ru_stime, (usage.ru_utime + usage.ru_stime) / max(done, 1) * 1e6,
             me.user + me.system, os.cpu_count()))


if __name__ == "__main__":
    main()
