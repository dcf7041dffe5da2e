import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobIdentity } from '../../src/store/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');

/** A fresh temp dir, removed when the test ends. */
export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-store-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function identity(fingerprint = 'fp-1', description: Record<string, unknown> = { model: 'm', input: 'items.jsonl' }): JobIdentity {
  return { fingerprint, description };
}

/** Runs a fixture under tsx, as its own process. */
export function spawnFixture(name: string, args: string[]): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(here, 'fixtures', name), ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the first stdout line of `child` that contains `marker`. */
export function waitForLine(child: ChildProcess, marker: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    let err = '';
    const onData = (chunk: Buffer): void => {
      buf += chunk.toString();
      for (const line of buf.split('\n')) {
        if (line.includes(marker)) {
          child.stdout?.off('data', onData);
          resolve(line);
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code, signal) => reject(new Error(`fixture exited (${code ?? signal}) before "${marker}"; stderr: ${err}`)));
  });
}

/** Kills `child` with SIGKILL and waits until it is gone. */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Waits for `child` to exit by itself; rejects on a non-zero exit. */
export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`fixture exited (${code ?? signal}); stderr: ${err}`))));
  });
}
