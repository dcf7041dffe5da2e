import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readProcessFacts, readStat } from '../../src/audit/index.js';
import { killAtEnd } from '../helpers/processes.js';
import { startTenant, startWorkerTree } from './process-tree.js';

const started = killAtEnd();

test('from a child up: the child (environment reset), its worker (id, pool, budget), and the gpupool above it, no further', async () => {
  const tree = await startWorkerTree('ocr/cuda:1/0', started, { GPUPOOL_MEMORY_LIMIT: String(8 * 1024 ** 3) });
  const facts = await readProcessFacts([tree.childPid]);
  assert.deepEqual(facts.map((f) => f.pid).sort(), [tree.childPid, tree.workerPid, process.pid].sort());
  const child = facts.find((f) => f.pid === tree.childPid)!;
  const worker = facts.find((f) => f.pid === tree.workerPid)!;
  assert.deepEqual([child.ppid, child.worker], [tree.workerPid, undefined]);
  assert.deepEqual(
    { worker: worker.worker, model: worker.model, poolPid: worker.poolPid, memoryLimit: worker.memoryLimit, ppid: worker.ppid },
    { worker: 'ocr/cuda:1/0', model: 'ocr', poolPid: process.pid, memoryLimit: 8 * 1024 ** 3, ppid: process.pid },
  );
  assert.ok(Number.isInteger(child.startTime) && child.startTime! > 0);
});

test('the walk stops at a known worker PID; a process outside any worker goes up to init', async () => {
  const tree = await startWorkerTree('ocr/cuda:1/0', started);
  const stopped = await readProcessFacts([tree.childPid], { stopAt: new Set([tree.workerPid]) });
  assert.deepEqual(stopped.map((f) => f.pid).sort(), [tree.childPid, tree.workerPid].sort());
  const tenant = startTenant(started);
  const up = await readProcessFacts([tenant]);
  assert.ok(up.some((f) => f.pid === process.pid), 'the tenant\'s parent chain runs through this test process');
  assert.ok(up.every((f) => f.worker === undefined));
});

test('gone PIDs yield nothing; stat parsing survives odd command names', async () => {
  assert.deepEqual(await readProcessFacts([2 ** 22 + 99]), []);
  const root = await mkdtemp(join(tmpdir(), 'gpupool-proc-'));
  try {
    await mkdir(join(root, '123'));
    await writeFile(join(root, '123', 'stat'), '123 (my (odd) name) S 45 123 123 0 -1 4194560 100 0 0 0 5 6 0 0 20 0 1 0 987654 1000 10\n');
    assert.deepEqual(await readStat(root, 123), { ppid: 45, startTime: 987654 });
    assert.deepEqual(await readProcessFacts([123], { procRoot: root }), [{ pid: 123, ppid: 45, startTime: 987654 }]);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
