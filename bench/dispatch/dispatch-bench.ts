/**
 * The dispatch path alone (scheduler ⇄ workers), with no-op workers and no file I/O:
 *  - batched: 64 items of ≤ 128 B per batch, items/s;
 *  - single-item round trips/s (batch.max 1);
 *  - added latency per batch without load (one batch in flight at a time), p50/p99.
 * Usage: node --import tsx bench/dispatch/dispatch-bench.ts [python|node] > result.json
 */
import os from 'node:os';
import path from 'node:path';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { Pool } from '../../src/pool/index.js';
import { newWorkItem, type ItemSink } from '../../src/scheduler/index.js';

const kind = process.argv[2] ?? 'python';
const root = path.resolve(import.meta.dirname, '..', '..');
const command = kind === 'python' ? ['python3', path.join(root, 'examples/noop/noop-worker.py')] : ['node', path.join(root, 'examples/noop/noop-worker.mjs')];
const payload = JSON.stringify({ text: 'x'.repeat(100) }); // ≤ 128 B

async function measure(opts: { max: number; inFlight: number; workers: number; items: number; window: number }) {
  let finished = 0;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));
  const latencies: number[] = [];
  const sink: ItemSink = {
    done: () => {
      if (++finished === opts.items) resolveDone();
    },
    failed: () => {
      throw new Error('no item should fail');
    },
  };
  const config = resolveConfig(
    { models: { noop: { command, devices: 'cpu', workers_per_device: opts.workers, batch: { max: opts.max, timeout: '1ms', in_flight: opts.inFlight } } } },
    root,
  );
  const pool = await Pool.start({ config, logDir: path.join(os.tmpdir(), 'gpupool-bench-logs'), sinkFor: () => sink, providers: [new CpuProvider()], sampleEveryMs: 60_000 });
  const s = pool.scheduler('noop');
  const t0 = performance.now();
  if (opts.window === 0) {
    for (let i = 0; i < opts.items; i++) s.push(newWorkItem(i, i, payload));
    s.endInput();
  } else {
    // Latency: one batch at a time, timed from push to answer.
    let i = 0;
    const next = () => {
      const start = performance.now();
      const before = finished;
      for (let k = 0; k < opts.max; k++) s.push(newWorkItem(i, i++, payload));
      s.pump(true);
      const check = () => (finished >= before + opts.max ? (latencies.push(performance.now() - start), i < opts.items ? next() : undefined) : setImmediate(check));
      check();
    };
    next();
  }
  await done;
  const seconds = (performance.now() - t0) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { itemsPerSecond: opts.items / seconds, seconds, ...(latencies.length ? { p50Us: q(0.5) * 1000, p99Us: q(0.99) * 1000 } : {}) };
}

const batched = await measure({ max: 64, inFlight: 4, workers: 1, items: 3_000_000, window: 0 });
const single = await measure({ max: 1, inFlight: 16, workers: 1, items: 200_000, window: 0 });
const latency = await measure({ max: 64, inFlight: 1, workers: 1, items: 64 * 5000, window: 1 });
console.log(JSON.stringify({ worker: kind, node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0].model, batched, single, latency }, null, 2));
