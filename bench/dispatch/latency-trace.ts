/**
 * Where the slow 64-item round trips of the TypeScript worker go: one batch at a time (as the
 * dispatch bench's `latency`), each timed from push to its last answer, split at the moment the
 * worker's predict starts, and matched with the V8 garbage collections of both processes.
 * Usage: npm run build && node --import tsx bench/dispatch/latency-trace.ts [batches=5000] [worker node flags…]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { Pool } from '../../src/pool/index.js';
import { newWorkItem, type ItemSink, type ModelScheduler } from '../../src/scheduler/index.js';

const batches = Number(process.argv[2] ?? 5000);
const workerFlags = process.argv.slice(3);
const root = path.resolve(import.meta.dirname, '..', '..');
const marksOut = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-latency-')), 'marks.json');
const payload = JSON.stringify({ text: 'x'.repeat(100) });
const SLOW_US = 400;

const hostGcs: number[][] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) hostGcs.push([performance.timeOrigin + e.startTime, e.duration]);
}).observe({ entryTypes: ['gc'] });
const now = () => performance.timeOrigin + performance.now();

const command = ['node', ...workerFlags, path.join(root, 'bench/dispatch/timed-noop-worker.mjs')];
const config = resolveConfig({ models: { noop: { command, devices: 'cpu', env: { MARKS_OUT: marksOut }, batch: { max: 64, timeout: '1ms', in_flight: 1 } } } }, root);
const sends: number[] = [];
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

const { marks, gcs } = JSON.parse(fs.readFileSync(marksOut, 'utf8')) as { marks: number[]; gcs: number[][] };
const during = (list: number[][], i: number) => list.some(([t, d]) => t + d >= sends[i] && t <= dones[i]);
const rtt = dones.map((d, i) => (d - sends[i]) * 1000);
const sorted = [...rtt].sort((a, b) => a - b);
// The first 100 batches are JIT warm-up in both processes.
const slow = rtt.map((r, i) => [r, i] as const).filter(([r, i]) => r > SLOW_US && i >= 100);
const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length));
console.log(
  JSON.stringify(
    {
      batches,
      workerFlags,
      p50Us: Math.round(sorted[batches >> 1]),
      p99Us: Math.round(sorted[Math.floor(batches * 0.99)]),
      slowOver400UsAfterWarmUp: slow.length,
      slowWithWorkerGc: slow.filter(([, i]) => during(gcs, i)).length,
      slowWithHostGc: slow.filter(([, i]) => during(hostGcs, i)).length,
      workerGcs: gcs.length,
      workerGcMeanUs: mean(gcs.map(([, d]) => d * 1000)),
      hostGcs: hostGcs.length,
      slowMeanUs: { toPredict: mean(slow.map(([, i]) => (marks[i] - sends[i]) * 1000)), predictToDone: mean(slow.map(([, i]) => (dones[i] - marks[i]) * 1000)) },
      fastMeanUs: { toPredict: mean(rtt.flatMap((r, i) => (r < 200 ? [(marks[i] - sends[i]) * 1000] : []))), predictToDone: mean(rtt.flatMap((r, i) => (r < 200 ? [(dones[i] - marks[i]) * 1000] : []))) },
    },
    null,
    1,
  ),
);
