/**
 * Where a 64-item round trip goes: one batch at a time (as the dispatch bench's `latency`), each
 * timed from push to its last answer and split into legs: to the worker's predict; predict to the
 * answer sent (Python worker only: the SDK's encode and send); to gpupool's read of it (the frame
 * reaching the decoder); the read to the last item done. Slow ones are matched with the V8
 * garbage collections of both processes (the Python worker has none of that kind).
 * Usage: npm run build && node --import tsx bench/dispatch/latency-trace.ts [batches=5000] [node|python] [worker node flags…]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { Pool } from '../../src/pool/index.js';
import { FrameDecoder } from '../../src/protocol/index.js';
import { newWorkItem, type ItemSink, type ModelScheduler } from '../../src/scheduler/index.js';

const batches = Number(process.argv[2] ?? 5000);
// The worker kind is optional, so the older form `latency-trace.ts 5000 --flag…` still means node.
const named = process.argv[3] === 'python' || process.argv[3] === 'node';
const kind = named ? process.argv[3] : 'node';
const workerFlags = process.argv.slice(named ? 4 : 3);
const root = path.resolve(import.meta.dirname, '..', '..');
const marksOut = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-latency-')), 'marks.json');
const payload = JSON.stringify({ text: 'x'.repeat(100) });
const SLOW_US = Number(process.env.LATENCY_TRACE_SLOW_US ?? 400);

const hostGcs: number[][] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) hostGcs.push([performance.timeOrigin + e.startTime, e.duration]);
}).observe({ entryTypes: ['gc'] });
const now = () => performance.timeOrigin + performance.now();

const command =
  kind === 'python' ? ['python3', path.join(root, 'bench/dispatch/timed_noop_worker.py')] : ['node', ...workerFlags, path.join(root, 'bench/dispatch/timed-noop-worker.mjs')];
const config = resolveConfig({ models: { noop: { command, devices: 'cpu', env: { MARKS_OUT: marksOut }, batch: { max: 64, timeout: '1ms', in_flight: 1 } } } }, root);
const sends: number[] = [];
// When each answer reached gpupool's frame decoder (only answers come while a batch is out).
const reads: number[] = [];
const pushBytes = FrameDecoder.prototype.pushBytes;
FrameDecoder.prototype.pushBytes = function (this: FrameDecoder, chunk: Buffer) {
  if (reads.length < sends.length) reads.push(now());
  return pushBytes.call(this, chunk);
};
const dones: number[] = [];
let finished = 0;
let pushed = 0;
let onDone: () => void = () => {};
const pushOne = () => {
  for (let k = 0; k < 64; k++, pushed++) scheduler.push(newWorkItem(pushed, pushed, payload));
  sends.push(now());
  scheduler.pump(true);
};
const sink: ItemSink = {
  done: () => {
    throw new Error('doneJson is preferred');
  },
  doneJson: () => {
    if (++finished < pushed) return;
    dones.push(now());
    if (dones.length === batches) onDone();
    else pushOne();
  },
  failed: () => {
    throw new Error('no item should fail');
  },
};
const pool = await Pool.start({ config, logDir: path.join(os.tmpdir(), 'gpupool-bench-logs'), sinkFor: () => sink, providers: [new CpuProvider()], sampleEveryMs: 60_000 });
const scheduler: ModelScheduler = pool.scheduler('noop');
const done = new Promise<void>((resolve) => (onDone = resolve));
pushOne();
await done;
await pool.close();

const { marks, gcs, ends } = JSON.parse(fs.readFileSync(marksOut, 'utf8')) as { marks: number[]; gcs: number[][]; ends?: number[] };
const during = (list: number[][], i: number) => list.some(([t, d]) => t + d >= sends[i] && t <= dones[i]);
const rtt = dones.map((d, i) => (d - sends[i]) * 1000);
const sorted = [...rtt].sort((a, b) => a - b);
// The first 100 batches are JIT warm-up in both processes.
const slow = rtt.map((r, i) => [r, i] as const).filter(([r, i]) => r > SLOW_US && i >= 100);
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
const fastMean = (legMs: (i: number) => number) => mean(rtt.flatMap((r, i) => (r < 200 && i >= 100 ? [legMs(i) * 1000] : [])));
console.log(
  JSON.stringify(
    {
      batches,
      worker: kind,
      answerPollUs: process.env.GPUPOOL_ANSWER_POLL_US ?? 'default',
      workerFlags,
      p50Us: Math.round(sorted[batches >> 1]),
      p99Us: Math.round(sorted[Math.floor(batches * 0.99)]),
      slowUs: SLOW_US,
      slowAfterWarmUp: slow.length,
      slowWithWorkerGc: slow.filter(([, i]) => during(gcs, i)).length,
      slowWithHostGc: slow.filter(([, i]) => during(hostGcs, i)).length,
      workerGcs: gcs.length,
      workerGcMeanUs: mean(gcs.map(([, d]) => d * 1000)),
      hostGcs: hostGcs.length,
      slowMeanUs: { toPredict: mean(slow.map(([, i]) => (marks[i] - sends[i]) * 1000)), predictToDone: mean(slow.map(([, i]) => (dones[i] - marks[i]) * 1000)) },
      // The legs of the batches under 200 µs after warm-up, means in µs.
      fastLegsUs: {
        toPredict: fastMean((i) => marks[i] - sends[i]),
        predictToAnswerSent: ends ? fastMean((i) => ends[i] - marks[i]) : undefined,
        answerSentToRead: ends ? fastMean((i) => reads[i] - ends[i]) : undefined,
        predictToRead: fastMean((i) => reads[i] - marks[i]),
        readToDone: fastMean((i) => dones[i] - reads[i]),
      },
      fastMeanUs: { toPredict: mean(rtt.flatMap((r, i) => (r < 200 ? [(marks[i] - sends[i]) * 1000] : []))), predictToDone: mean(rtt.flatMap((r, i) => (r < 200 ? [(dones[i] - marks[i]) * 1000] : []))) },
    },
    null,
    1,
  ),
);
