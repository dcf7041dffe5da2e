/**
 * `gpupool serve` under load, on this machine, with a no-op worker and the load generator
 * beside it (everything shares the same cores), single-input requests throughout:
 *  - closed loop: each of N connections sends its next request when the answer comes, for
 *    N = 16 and 64: requests/s and latency;
 *  - open loop: requests at a fixed rate (default 10,000/s) whatever the server does, after a
 *    warm-up at that rate: achieved rate, p50/p99 (a stall shows, nothing hides it);
 *  - low load: one request at a time, through HTTP and as a direct call into the pool (the
 *    same scheduler and worker, no server), for the throughput config (batch.max 8,
 *    batch.timeout 1 ms: a lone request waits for the batch timer) and for batch.max 1
 *    (no wait): the difference is what the server adds.
 * Usage: npm run build && node --import tsx bench/serve/serve-bench.ts [--worker python|node] [--seconds 10] [--rate 10000]
 * Prints JSON on stdout.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { Pool } from '../../src/pool/index.js';
import { newWorkItem, type ItemSink } from '../../src/scheduler/index.js';
import { runLoad, summarize } from './http-load.js';

const { values: args } = parseArgs({
  options: {
    worker: { type: 'string', default: 'python' },
    seconds: { type: 'string', default: '10' },
    rate: { type: 'string', default: '10000' },
    'low-requests': { type: 'string', default: '3000' },
  },
});
const root = path.resolve(import.meta.dirname, '..', '..');
const command = args.worker === 'python' ? ['python3', path.join(root, 'examples/noop/noop-worker.py')] : ['node', path.join(root, 'examples/noop/noop-worker.mjs')];
const seconds = Number(args.seconds);
const lowRequests = Number(args['low-requests']);
const body = JSON.stringify({ inputs: [{ text: 'x'.repeat(100) }] });
const input = JSON.stringify({ text: 'x'.repeat(100) });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-serve-bench-'));

interface Batch {
  max: number;
  timeout: string;
}
// At 10,000 requests/s eight inputs gather in under a millisecond: batches fill before the timer.
const THROUGHPUT: Batch = { max: 8, timeout: '1ms' };
const NO_WAIT: Batch = { max: 1, timeout: '1ms' };

function yaml(batch: Batch): string {
  return `models:\n  noop:\n    command: ${JSON.stringify(command)}\n    devices: cpu\n    batch: { max: ${batch.max}, timeout: ${batch.timeout}, in_flight: 4 }\n`;
}

/** The real CLI in its own process, as a user runs it. */
async function withServer<T>(batch: Batch, fn: (port: number) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(work, 'server-'));
  fs.writeFileSync(path.join(dir, 'gpupool.yaml'), yaml(batch));
  const child = spawn(process.execPath, [path.join(root, 'dist/cli/main.js'), 'serve', '-c', 'gpupool.yaml', '--port', '0', '--json', '--state-dir', 'state'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let url = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n').filter((l) => l.startsWith('{'))) {
        const e = JSON.parse(line) as { event: string; url?: string };
        if (e.event === 'listening') url = e.url!;
        if (e.event === 'ready') resolve(Number(new URL(url).port));
      }
    });
    child.on('exit', (code) => reject(new Error(`gpupool serve exited with ${code}`)));
  });
  try {
    return await fn(port);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  }
}

/** The same worker and scheduler with no server: push one item, wait for its answer, again. */
async function direct(batch: Batch, requests: number) {
  let resolveItem: () => void = () => {};
  const sink: ItemSink = { done: () => resolveItem(), doneJson: () => resolveItem(), failed: () => resolveItem() };
  const config = resolveConfig({ models: { noop: { command, devices: 'cpu', batch: { max: batch.max, timeout: batch.timeout, in_flight: 4 } } } }, root);
  const pool = await Pool.start({ config, logDir: path.join(work, 'direct-logs'), sinkFor: () => sink, providers: [new CpuProvider()], sampleEveryMs: 60_000 });
  const scheduler = pool.scheduler('noop');
  const latencies: number[] = [];
  try {
    for (let i = 0; i < requests + 200; i++) {
      const answered = new Promise<void>((r) => (resolveItem = r));
      const t = performance.now();
      scheduler.push(newWorkItem(i, i, input));
      await answered;
      if (i >= 200) latencies.push(performance.now() - t); // the first 200 warm up
      await new Promise((r) => setTimeout(r, 1)); // low load: one request at a time, spaced out
    }
  } finally {
    await pool.close();
  }
  return { requests, latencyMs: summarize(latencies) };
}

/** One HTTP request at a time on a kept-alive connection, spaced like the direct calls. */
async function httpLowLoad(port: number, requests: number) {
  const r = await runLoad({ host: '127.0.0.1', port, path: '/v1/models/noop/infer', body, connections: 1, durationMs: 600_000, warmupMs: 500, maxRequests: requests, gapMs: 1 });
  return { requests: r.requests, latencyMs: r.latencyMs };
}

const loadBefore = os.loadavg();
const t0 = Date.now();
const target = { host: '127.0.0.1', path: '/v1/models/noop/infer', body };
const throughput = await withServer(THROUGHPUT, async (port) => {
  await runLoad({ ...target, port, connections: 64, durationMs: 3000 }); // warm-up (JIT, both sides)
  const closed16 = await runLoad({ ...target, port, connections: 16, durationMs: seconds * 1000, warmupMs: 1000 });
  const closed64 = await runLoad({ ...target, port, connections: 64, durationMs: seconds * 1000, warmupMs: 1000 });
  const atRate = await runLoad({ ...target, port, connections: 64, durationMs: seconds * 1000, warmupMs: 3000, rate: Number(args.rate) });
  const low = await httpLowLoad(port, lowRequests);
  return { closed16, closed64, atRate, low };
});
const noWait = await withServer(NO_WAIT, (port) => httpLowLoad(port, lowRequests));
const directThroughputConfig = await direct(THROUGHPUT, lowRequests);
const directNoWait = await direct(NO_WAIT, lowRequests);
fs.rmSync(work, { recursive: true, force: true });

const added = (http: { latencyMs: { p50: number; p99: number } }, d: { latencyMs: { p50: number; p99: number } }) => ({
  p50Ms: Math.round((http.latencyMs.p50 - d.latencyMs.p50) * 1000) / 1000,
  p99Ms: Math.round((http.latencyMs.p99 - d.latencyMs.p99) * 1000) / 1000,
});
console.log(
  JSON.stringify(
    {
      command: `node --import tsx bench/serve/serve-bench.ts --worker ${args.worker} --seconds ${seconds} --rate ${args.rate}`,
      date: new Date(t0).toISOString(),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0].model, node: process.version, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg() },
      worker: args.worker,
      request: 'POST /v1/models/noop/infer with one input of ~110 bytes, keep-alive HTTP/1.1',
      throughputConfig: THROUGHPUT,
      closedLoop: [
        { connections: 16, ...throughput.closed16 },
        { connections: 64, ...throughput.closed64 },
      ],
      openLoop: { connections: 64, targetPerSecond: Number(args.rate), warmupSeconds: 3, ...throughput.atRate },
      lowLoad: {
        throughputConfig: { http: throughput.low, direct: directThroughputConfig, added: added(throughput.low, directThroughputConfig) },
        batchMax1: { http: noWait, direct: directNoWait, added: added(noWait, directNoWait) },
      },
    },
    null,
    2,
  ),
);
