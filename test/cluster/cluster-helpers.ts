import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { pyWorker, readOutput, startCli, tempDir, writeConfig, type CliResult } from '../helpers/cli.js';

export const SHARED_REDIS = 'redis://127.0.0.1:6379';
export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A key prefix of its own for one test; every key under it is deleted when the test ends. */
export function uniquePrefix(t: { after(fn: () => Promise<void>): void }, url = SHARED_REDIS): string {
  const prefix = `gpupool-test-${randomUUID().slice(0, 8)}`;
  t.after(async () => {
    const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
    } catch {
      // a private Redis already stopped
    } finally {
      redis.disconnect();
    }
  });
  return prefix;
}

/** A config with one CPU model `echo` running `worker` (a Python fixture or a path). */
export function clusterConfig(dir: string, options: { worker?: string; workers?: number; batch?: number; name?: string } = {}): string {
  const command = options.worker?.includes('/') ? `[python3, ${JSON.stringify(options.worker)}]` : pyWorker(options.worker ?? 'noop_worker.py');
  return writeConfig(
    dir,
    `models:\n  echo:\n    command: ${command}\n    devices: cpu\n    workers_per_device: ${options.workers ?? 1}\n    batch: { max: ${options.batch ?? 64}, timeout: 2ms }\n`,
    options.name ?? 'gpupool.yaml',
  );
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
}

/** Starts `gpupool agent` and resolves once it says it is ready. */
export async function startAgent(config: string, url: string, prefix: string, name: string, extra: string[] = []): Promise<RunningCli> {
  const agent = startCli(['agent', '-c', config, '--redis', url, '--prefix', prefix, '--name', name, ...extra]);
  await waitForText(agent.child, `${name} ready`);
  return agent;
}

/** Resolves once `text` appears on the child's stderr; rejects if it exits first. */
export function waitForText(child: ChildProcess, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer): void => {
      seen += d.toString();
      if (seen.includes(text)) {
        child.stderr!.off('data', onData);
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => reject(new Error(`exited (${code ?? signal}) before "${text}": ${seen}`)));
  });
}

/** Resolves once `file` holds at least `lines` lines (polled). */
export async function waitForLines(file: string, lines: number): Promise<number> {
  for (;;) {
    const n = fs.existsSync(file) ? countLines(file) : 0;
    if (n >= lines) return n;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function countLines(file: string): number {
  const buf = fs.readFileSync(file);
  let n = 0;
  for (let i = 0; i < buf.length; i++) if (buf[i] === 10) n++;
  return n;
}

/**
 * A test's own folder and prefix, a config of the gate worker (items with `"gate": gate` wait
 * until that file exists) and one agent, `a1`, running it: a job's chunks stay in its hand
 * until the test opens the gate. The agent's PID goes to `pids` (killAtEnd).
 */
export async function gatedAgent(t: { after(fn: () => Promise<void>): void }, pids: number[]): Promise<{ dir: string; prefix: string; config: string; gate: string; agent: RunningCli }> {
  const dir = tempDir();
  const prefix = uniquePrefix(t);
  const config = clusterConfig(dir, { worker: path.join(FIXTURES, 'gate_worker.py') });
  const agent = await startAgent(config, SHARED_REDIS, prefix, 'a1');
  pids.push(agent.child.pid!);
  return { dir, prefix, config, gate: path.join(dir, 'gate'), agent };
}

/** Resolves once an agent holds a chunk of `job` (BullMQ's active list of its queue is not empty). */
export async function untilChunkHeld(url: string, prefix: string, job: string): Promise<void> {
  const redis = new Redis(url);
  try {
    while ((await redis.llen(`${prefix}:chunks-${job}:active`)) === 0) await new Promise((r) => setTimeout(r, 50));
  } finally {
    redis.disconnect();
  }
}

/** Output ids with how often each occurs, and the failures by id. */
export function tallyIds(file: string): { ids: Map<string | number, number>; errors: Map<string | number, string> } {
  const ids = new Map<string | number, number>();
  const errors = new Map<string | number, string>();
  for (const l of readOutput(file)) {
    ids.set(l.id, (ids.get(l.id) ?? 0) + 1);
    if (l.error) errors.set(l.id, l.error.code);
  }
  return { ids, errors };
}

/** Asserts-friendly: ids seen more than once, and ids 1..count never seen. */
export function duplicatesAndMissing(file: string, count: number): { duplicates: (string | number)[]; missing: number[] } {
  const { ids } = tallyIds(file);
  const duplicates = [...ids].filter(([, n]) => n > 1).map(([id]) => id);
  const missing: number[] = [];
  for (let i = 1; i <= count; i++) if (!ids.has(i)) missing.push(i);
  return { duplicates, missing };
}

/** A port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A redis-server of the test's own (never the shared one on 6379), with an append-only file
 * in `dir`, so its data outlives a restart on the same port.
 */
export class PrivateRedis {
  #child?: ChildProcess;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extra: string[],
  ) {}

  static async start(dir: string, extra: string[] = []): Promise<PrivateRedis> {
    const r = new PrivateRedis(await freePort(), dir, extra);
    await r.start();
    return r;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  async start(): Promise<void> {
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', this.dir, ...this.extra], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
  }

  /** SIGTERM: Redis flushes its append-only file and exits. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}
