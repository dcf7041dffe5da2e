import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PY_FIXTURES, startCli, tempDir, writeConfig, type CliResult } from '../helpers/cli.js';

export interface RunningServer {
  readonly url: string;
  readonly child: ChildProcess;
  readonly dir: string;
  readonly done: Promise<CliResult>;
  /** Everything the server printed on stderr so far. */
  stderr(): string;
  /** SIGTERM, then wait for the exit. */
  stop(): Promise<CliResult>;
}

/** A model config of fixture workers on the CPU. */
export function cpuModel(name: string, fixture: string, extra = ''): string {
  return `  ${name}:\n    command: [python3, ${JSON.stringify(path.join(PY_FIXTURES, fixture))}]\n    devices: cpu\n${extra}`;
}

/**
 * Starts `gpupool serve` (the built CLI, a real process) on a free port and resolves once it
 * printed `ready` (or, with `waitFor: 'listening'`, once it listens).
 */
export async function startServer(
  models: string,
  args: string[] = [],
  options: { dir?: string; waitFor?: 'ready' | 'listening'; env?: NodeJS.ProcessEnv; pids?: number[] } = {},
): Promise<RunningServer> {
  const dir = options.dir ?? tempDir('gpupool-serve-');
  const config = writeConfig(dir, `models:\n${models}`);
  const { child, done } = startCli(['serve', '-c', config, ...(args.includes('--port') ? [] : ['--port', '0']), '--json', '--state-dir', path.join(dir, 'state'), ...args], { cwd: dir, env: options.env });
  if (child.pid !== undefined) options.pids?.push(child.pid);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let listening: string | undefined;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const e = JSON.parse(line) as { event: string; url?: string };
        if (e.event === 'listening') listening = e.url;
        if (listening && (options.waitFor === 'listening' || e.event === 'ready')) resolve(listening);
      }
    });
    void done.then((r) => reject(new Error(`gpupool serve exited (${r.code}) before it was ready: ${r.stderr}`)));
  });
  return {
    url,
    child,
    dir,
    done,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGTERM');
      return done;
    },
  };
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  json: () => any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** One HTTP request over a real socket. `body` objects are sent as JSON, strings as they are. */
export async function call(url: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const isText = typeof body === 'string';
  const res = await fetch(url + route, {
    method,
    headers: { ...(body !== undefined && !isText ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : isText ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) };
}

/** Polls `probe` until it returns a value, or fails after `ms`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every error answer must be the registry's body: `{statusCode, code, error, message}`. */
export function assertErrorBody(a: Answer, status: number, code: string, message?: RegExp): void {
  assert.equal(a.status, status, a.text);
  const body = a.json() as Record<string, unknown>;
  assert.equal(body.statusCode, status, a.text);
  assert.equal(body.code, code, a.text);
  assert.equal(typeof body.error, 'string', a.text);
  assert.equal(typeof body.message, 'string', a.text);
  if (message) assert.match(body.message as string, message);
}
