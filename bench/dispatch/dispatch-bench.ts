/**
 * The dispatch path alone (scheduler ⇄ workers), with no-op workers and no file I/O:
 *  - batched: 64 items of ≤ 128 B per batch, items/s, with 8 and with 32 batches in flight;
 *  - single-item round trips/s (batch.max 1);
 *  - added latency per batch without load (one batch in flight at a time), p50/p99: with a
 *    no-op worker, the whole round trip is what gpupool adds; for a batch of 64 items and for
 *    a batch of one (the fixed cost of a round trip, without the worker's JSON work per item);
 *    and a batch of one after 2 ms idle (`latencyIdle`): longer than the Python SDK polls for
 *    its next frame (GPUPOOL_SPIN_US, default 100 µs), so both processes are asleep when it
 *    is sent, as for a request that comes alone.
 * Each also reports CPU time per item of the host process and of the worker, which a busy
 * machine disturbs far less than the rates.
 * Usage: node --import tsx bench/dispatch/dispatch-bench.ts [python|node] > result.json
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { Pool } from '../../src/pool/index.js';
import { newWorkItem, type ItemSink, type ModelScheduler } from '../../src/scheduler/index.js';

const kind = process.argv[2] ?? 'python';
const root = path.resolve(import.meta.dirname, '..', '..');
const command = kind === 'python' ? ['python3', path.join(root, 'examples/noop/noop-worker.py')] : ['node', path.join(root, 'examples/noop/noop-worker.mjs')];
const payload = JSON.stringify({ text: 'x'.repeat(100) }); // ≤ 128 B

/** CPU ms (user + system) a process has used, from /proc. */
function cpuMs(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
}

interface Shape {
  max: number;
  inFlight: number;
  items: number;
  /** Keep at most this many items pushed but unanswered, like `gpupool run`'s admission. */
  window: number;
  /** One batch at a time, timed from push to its last answer. */
  latency?: boolean;
  /** With `latency`: idle this long before each batch. */
  gapMs?: number;
}

async function measure(shape: Shape) {
  const config = resolveConfig(
    { models: { noop: { command, devices: 'cpu', batch: { max: shape.max, timeout: '1ms', in_flight: shape.inFlight } } } },
    root,
  );
  let finished = 0;
  let pushed = 0;
  let onDone: () => void = () => {};
  let refillQueued = false;
  const latencies: number[] = [];
  let batchStart = 0;
  const refill = () => {
    refillQueued = false;
    for (; pushed < shape.items && pushed - finished < shape.window; pushed++) s.push(newWorkItem(pushed, pushed, payload));
    if (pushed === shape.items) s.endInput();
  };
  const pushOne = () => {
    for (let k = 0; k < shape.max; k++, pushed++) s.push(newWorkItem(pushed, pushed, payload));
    batchStart = performance.now();
    s.pump(true);
  };
  // Outputs stay JSON text, as in `gpupool run`'s and `serve`'s sinks.
  const sink: ItemSink = {
    done: () => {
      throw new Error('doneJson is preferred');
    },
    doneJson: () => {
      finished++;
      if (finished === shape.items) return onDone();
      if (shape.latency) {
        if (finished === pushed) {
          latencies.push(performance.now() - batchStart);
          if (shape.gapMs) setTimeout(pushOne, shape.gapMs);
          else pushOne();
        }
      } else if (!refillQueued && pushed - finished < shape.window / 2) {
        refillQueued = true;
        setImmediate(refill);
      }
    },
    failed: () => {
      throw new Error('no item should fail');
    },
  };
  const pool = await Pool.start({ config, logDir: path.join(os.tmpdir(), 'gpupool-bench-logs'), sinkFor: () => sink, providers: [new CpuProvider()], sampleEveryMs: 60_000 });
  const s: ModelScheduler = pool.scheduler('noop');
  const workerPid = pool.workers[0].supervisor.pid!;
  const done = new Promise<void>((resolve) => (onDone = resolve));
  const host0 = process.cpuUsage();
  const worker0 = cpuMs(workerPid);
  const t0 = performance.now();
  if (shape.latency) pushOne();
  else refill();
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const host = process.cpuUsage(host0);
  const workerCpu = cpuMs(workerPid) - worker0;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 1000);
  return {
    itemsPerSecond: Math.round(shape.items / seconds),
    seconds: Math.round(seconds * 100) / 100,
    hostCpuNsPerItem: Math.round(((host.user + host.system) * 1000) / shape.items),
    workerCpuNsPerItem: Math.round((workerCpu * 1e6) / shape.items),
    ...(latencies.length ? { p50Us: q(0.5), p99Us: q(0.99) } : {}),
  };
}

const batched = await measure({ max: 64, inFlight: 8, items: 3_000_000, window: 16384 });
// The same with 32 batches in flight per worker (`batch.in_flight: 32`): each wake-up of either
// process then finds more batches waiting, so the two stall on each other less on 2 cores.
const batchedDeep = await measure({ max: 64, inFlight: 32, items: 3_000_000, window: 16384 });
const single = await measure({ max: 1, inFlight: 16, items: 200_000, window: 256 });
const latency = await measure({ max: 64, inFlight: 1, items: 64 * 5000, window: 64, latency: true });
// The fixed cost of one round trip: a batch of one item (the worker's JSON work for 64 items is in the line above).
const latencyOne = await measure({ max: 1, inFlight: 1, items: 20_000, window: 1, latency: true });
const latencyIdle = await measure({ max: 1, inFlight: 1, items: 2_000, window: 1, latency: true, gapMs: 2 });
const spinUs = process.env.GPUPOOL_SPIN_US ?? 'default';
console.log(JSON.stringify({ worker: kind, spinUs, answerPollUs: process.env.GPUPOOL_ANSWER_POLL_US ?? 'default', node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0].model, loadavg: os.loadavg(), batched, batchedDeep, single, latency, latencyOne, latencyIdle }, null, 2));
