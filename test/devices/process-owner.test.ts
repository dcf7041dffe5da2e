import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProcessOwner, readParentPid } from '../../src/devices/index.js';
import { killAtEnd } from '../helpers/processes.js';

const started = killAtEnd();

const WORKER_ENV = { GPUPOOL_WORKER_ID: 'ocr/cuda:1/0', GPUPOOL_MODEL: 'ocr' };

function start(command: string, args: string[], env: Record<string, string>): ChildProcess {
  const { GPUPOOL_WORKER_ID: _w, GPUPOOL_MODEL: _m, ...base } = process.env;
  const child = spawn(command, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  started.push(child.pid!);
  return child;
}

/** Starts `outer sh` with `env`; it runs an inner shell without the gpupool variables that prints its PID, then sleeps. */
async function grandchild(env: Record<string, string>): Promise<{ outer: number; inner: number }> {
  const child = start('sh', ['-c', 'env -u GPUPOOL_WORKER_ID -u GPUPOOL_MODEL sh -c \'echo $$; exec sleep 30\'; true'], env);
  const [chunk] = (await once(child.stdout!, 'data')) as [Buffer];
  const inner = Number(String(chunk).trim());
  started.push(inner);
  return { outer: child.pid!, inner };
}

test('a worker process is recognised by its own environment', async () => {
  const child = start('sleep', ['30'], WORKER_ENV);
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(await findProcessOwner(child.pid!), { worker: 'ocr/cuda:1/0', model: 'ocr', via: child.pid });
});

test('a child that dropped the variables is traced to its worker parent', async () => {
  const { outer, inner } = await grandchild(WORKER_ENV);
  assert.deepEqual(await findProcessOwner(inner), { worker: 'ocr/cuda:1/0', model: 'ocr', via: outer });
});

test('known worker PIDs answer where no environment says so', async () => {
  const { outer, inner } = await grandchild({});
  assert.equal(await findProcessOwner(inner), undefined);
  const workers = new Map([[outer, { worker: 'emb/cpu:0/1', model: 'emb' }]]);
  assert.deepEqual(await findProcessOwner(inner, { workers }), { worker: 'emb/cpu:0/1', model: 'emb', via: outer });
});

test('someone else\'s process, or a PID that does not exist here, has no owner', async () => {
  const child = start('sleep', ['30'], {});
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await findProcessOwner(child.pid!), undefined);
  assert.equal(await findProcessOwner(2 ** 22 + 12345), undefined);
});

test('stat parsing survives a command name with spaces and parentheses', async () => {
  const root = await mkdtemp(join(tmpdir(), 'gpupool-proc-'));
  try {
    await mkdir(join(root, '123'));
    await writeFile(join(root, '123', 'stat'), '123 (my (odd) name) S 45 123 123 0 -1 4194560 100 0 0 0\n');
    assert.equal(await readParentPid(root, 123), 45);
    assert.equal(await readParentPid(root, 999), undefined);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
