// The floor under gpupool's round-trip latency on this machine: a Node parent writes 200 bytes
// to a Python child's fd 3 (as gpupool talks to a worker) and times the echo, one at a time,
// with no gpupool code at all. Usage: node bench/dispatch/ipc-floor.mjs [round trips=20000]
import { spawn } from 'node:child_process';

const rounds = Number(process.argv[2] ?? 20_000);
const echo = 'import os\nwhile True:\n    d = os.read(3, 65536)\n    if not d: break\n    os.write(3, d)\n';
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
    console.log(JSON.stringify({ roundTrips: rounds, bytes: message.length, p50Us: q(0.5), p99Us: q(0.99) }));
    channel.end();
    child.kill();
    return;
  }
  sentAt = process.hrtime.bigint();
  channel.write(message);
});
sentAt = process.hrtime.bigint();
channel.write(message);
