/**
 * `gpupool agent` / `gpupool submit` through a Redis of the benchmark's own:
 *
 *   npm run build && node --import tsx bench/cluster/cluster-bench.ts [--scale-items 10000]
 *        [--sleep-ms 1] [--memory-items 100000,1000000] [--out FILE]
 *
 * 1. Scaling: the same job with 1 agent, then 2, each agent one Python worker that sleeps
 *    `--sleep-ms` per item (the slow fixture). The work per item is the bottleneck, not the
 *    submitter or Redis, and sleeping leaves the cores to the rest. Reports items/s and the
 *    ratio (issue 5 asks ≥ 1.9×).
 * 2. Bounded Redis memory: jobs of each `--memory-items` size through 2 agents with no-op
 *    workers, sampling `INFO memory` used_memory every 20 ms; reports the peak of each (issue
 *    5 asks 1M vs 100k within 20%).
 *
 * Every process is the real CLI (dist/cli/main.js). Prints JSON, and writes it to `--out`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { writeJsonl } from '../../test/helpers/cli.js';

const { values: opts } = parseArgs({
  options: {
    'scale-items': { type: 'string', default: '10000' },
    'sleep-ms': { type: 'string', default: '1' },
    'memory-items': { type: 'string', default: '100000,1000000' },
    out: { type: 'string' },
  },
});
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'dist', 'cli', 'main.js');
const fixtures = path.join(root, 'sdk', 'python', 'tests', 'fixtures');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-cluster-bench-'));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child[stream]!.on('data', (d: Buffer) => {
      seen += d.toString();
      if (seen.includes(text)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before "${text}": ${seen}`)));
  });
}

function config(name: string, worker: string, batch: number): string {
  const file = path.join(work, `${name}.yaml`);
  fs.writeFileSync(file, `models:\n  echo:\n    command: [python3, ${JSON.stringify(path.join(fixtures, worker))}]\n    devices: cpu\n    workers_per_device: 1\n    batch: { max: ${batch}, timeout: 2ms }\n`);
  return file;
}

function input(name: string, items: number, make: (i: number) => unknown): string {
  return writeJsonl(path.join(work, `${name}.jsonl`), items, make);
}

interface Summary {
  done: number;
  wallSeconds: number;
  itemsPerSecond: number;
  devices: Record<string, number>;
}

/** Runs one job with `agents` agents; returns the submitter's summary and Redis' peak used_memory. */
async function job(url: string, prefix: string, cfg: string, file: string, agents: number): Promise<Summary & { peakUsedMemory: number; baselineUsedMemory: number }> {
  const running = [];
  for (let i = 0; i < agents; i++) {
    const a = spawn(process.execPath, [cli, 'agent', '-c', cfg, '--redis', url, '--prefix', prefix, '--name', `agent${i}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    running.push(a);
    await waitFor(a, 'stderr', 'ready');
  }
  const redis = new Redis(url);
  const usedMemory = async (): Promise<number> => Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
  const baselineUsedMemory = await usedMemory();
  let peak = baselineUsedMemory;
  const sampler = setInterval(() => void usedMemory().then((m) => (peak = Math.max(peak, m))), 20);
  const out = path.join(work, `out-${prefix}.jsonl`);
  const submit = spawn(process.execPath, [cli, 'submit', '-c', cfg, '--redis', url, '--prefix', prefix, '-i', file, '-o', out, '--progress', 'none', '--json', '--fresh'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  submit.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const code = await new Promise<number | null>((resolve) => submit.once('exit', resolve));
  clearInterval(sampler);
  peak = Math.max(peak, await usedMemory());
  redis.disconnect();
  for (const a of running) a.kill('SIGINT');
  await Promise.all(running.map((a) => new Promise((r) => a.once('exit', r))));
  if (code !== 0) throw new Error(`submit exited ${code}`);
  fs.rmSync(out, { force: true });
  return { ...(JSON.parse(stdout) as Summary), peakUsedMemory: peak, baselineUsedMemory };
}

const port = await freePort();
const redisServer = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', work], { stdio: ['ignore', 'pipe', 'ignore'] });
await waitFor(redisServer, 'stdout', 'Ready to accept connections');
const url = `redis://127.0.0.1:${port}`;
try {
  const scaleItems = Number(opts['scale-items']);
  const sleepMs = Number(opts['sleep-ms']);
  const slow = config('slow', 'slow_worker.py', 32);
  const scaleInput = input('scale', scaleItems, (i) => ({ n: i, sleep_ms: sleepMs }));
  const one = await job(url, 'scale1', slow, scaleInput, 1);
  const two = await job(url, 'scale2', slow, scaleInput, 2);

  const noop = config('noop', 'noop_worker.py', 64);
  const memory = [];
  for (const items of opts['memory-items'].split(',').map(Number)) {
    const r = await job(url, `mem${items}`, noop, input(`mem${items}`, items, (i) => ({ n: i, text: `item ${i}` })), 2);
    memory.push({ items, itemsPerSecond: Math.round(r.itemsPerSecond), peakUsedMemory: r.peakUsedMemory, baselineUsedMemory: r.baselineUsedMemory });
  }
  const result = {
    command: `node --import tsx bench/cluster/cluster-bench.ts --scale-items ${scaleItems} --sleep-ms ${sleepMs} --memory-items ${opts['memory-items']}`,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadavg: os.loadavg().map((x) => Math.round(x * 10) / 10) },
    date: new Date().toISOString(),
    scaling: {
      workPerItem: `${sleepMs} ms sleep (slow fixture), 1 worker per agent, batch max 32`,
      items: scaleItems,
      oneAgent: { itemsPerSecond: Math.round(one.itemsPerSecond), wallSeconds: one.wallSeconds },
      twoAgents: { itemsPerSecond: Math.round(two.itemsPerSecond), wallSeconds: two.wallSeconds, perAgent: two.devices },
      ratio: Math.round((two.itemsPerSecond / one.itemsPerSecond) * 100) / 100,
    },
    memory: {
      workers: 'no-op, 1 per agent, 2 agents, batch max 64, default chunk size and window',
      runs: memory,
      peakRatio: memory.length >= 2 ? Math.round((memory[memory.length - 1].peakUsedMemory / memory[0].peakUsedMemory) * 1000) / 1000 : null,
    },
  };
  const text = JSON.stringify(result, null, 2);
  process.stdout.write(`${text}\n`);
  if (opts.out) fs.writeFileSync(opts.out, `${text}\n`);
} finally {
  redisServer.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
