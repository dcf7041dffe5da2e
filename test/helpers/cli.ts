import './clean-env.js'; // first: the runner's GPU and gpupool variables never reach a test
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'dist', 'cli', 'main.js');
export const PY_FIXTURES = path.join(ROOT, 'sdk', 'python', 'tests', 'fixtures');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Measured memory needs of CLI runs go here, never into the user's `~/.cache/gpupool` (a test may set its own). */
let testCacheDir: string | undefined;

/** Runs the built CLI as a real process. */
/** `openStdin`: stdin stays open for the test to write to (a producer that may fall silent). */
export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; openStdin?: boolean } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  testCacheDir ??= tempDir('gpupool-test-cache-');
  const env = { ...process.env, GPUPOOL_CACHE_DIR: testCacheDir, ...options.env };
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  if (options.input !== undefined) child.stdin!.end(options.input);
  else if (!options.openStdin) child.stdin!.end();
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/** `timeoutMs`: a run still going then is killed (SIGKILL), and the result says so by its signal. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const { child, done } = startCli(args, options);
  if (options.timeoutMs === undefined) return done;
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  return done.finally(() => clearTimeout(timer));
}

export function tempDir(prefix = 'gpupool-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a config next to nothing else: `command` paths are absolute. */
export function writeConfig(dir: string, yaml: string, name = 'gpupool.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, yaml);
  return file;
}

/** The config most CLI tests need: one model, `echo`, the Python noop worker on the CPU. */
export function echoConfig(dir: string): string {
  return writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n`);
}

export function writeJsonl(file: string, count: number, make: (i: number) => unknown = (i) => ({ n: i })): string {
  const fd = fs.openSync(file, 'w');
  let buf = '';
  for (let i = 0; i < count; i++) {
    buf += `${JSON.stringify(make(i))}\n`;
    if (buf.length > 1 << 20) {
      fs.writeSync(fd, buf);
      buf = '';
    }
  }
  fs.writeSync(fd, buf);
  fs.closeSync(fd);
  return file;
}

export interface OutputLine {
  id: string | number;
  output?: unknown;
  error?: { code: string; message: string };
}

export function readOutput(file: string): OutputLine[] {
  const text = fs.readFileSync(file, 'utf8');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as OutputLine);
}

/** A python fixture worker as a YAML command. */
export function pyWorker(name: string): string {
  return `[python3, ${JSON.stringify(path.join(PY_FIXTURES, name))}]`;
}
