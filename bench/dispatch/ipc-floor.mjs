// The floor under gpupool's round-trip latency on this machine: a Node parent writes 200 bytes
// to a Python child's fd 3 (as gpupool talks to a worker) and times the echo, one at a time,
// with no gpupool code at all.
// Usage: node bench/dispatch/ipc-floor.mjs [round trips=20000] [spin µs=0]
// With a spin, the child polls its descriptor that long (calling sched_yield between tries) before
// it sleeps in read, as the Python SDK does (GPUPOOL_SPIN_US): the difference is the cost of
// waking a sleeping process on another CPU.
import { spawn } from 'node:child_process';

const rounds = Number(process.argv[2] ?? 20_000);
const spinUs = Number(process.argv[3] ?? 0);
// Without a spin the child is the plain blocking loop (as the SDK with GPUPOOL_SPIN_US=0).
const echo = spinUs === 0
  ? 'import os\nwhile True:\n    d = os.read(3, 65536)\n    if not d: break\n    os.write(3, d)\n'
  : `
import os, select, time
spin = ${spinUs} / 1e6
os.set_blocking(3, False)
while True:
    d = None
    end = time.perf_counter() + spin
    while True:
        try:
            d = os.read(3, 65536)
            break
        except BlockingIOError:
            if time.perf_counter() >= end:
                break
            os.sched_yield()
    if d is None:
        select.select([3], [], [])
        d = os.read(3, 65536)
    if not d:
        break
    os.write(3, d)
`;
const child = spawn('python3', ['-c', echo], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
const channel = child.stdio[3];
const message = Buffer.alloc(200, 120);
const latencies = [];
let sentAt = 0n;
let got = 0;
channel.on('data', (d) => {
  got += d.length;
  if (got < message.length) return;
  got = 0;
  latencies.push(Number(process.hrtime.bigint() - sentAt) / 1000);
  if (latencies.length === rounds) {
    latencies.sort((a, b) => a - b);
    const q = (p) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]);
    console.log(JSON.stringify({ roundTrips: rounds, spinUs, bytes: message.length, p50Us: q(0.5), p99Us: q(0.99) }));
    channel.end();
    child.kill();
    return;
  }
  sentAt = process.hrtime.bigint();
  channel.write(message);
});
sentAt = process.hrtime.bigint();
channel.write(message);
