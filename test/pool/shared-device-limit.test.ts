// What a (model, device) remembers with several workers there (gpupool serve's limit store,
// through the pool's onLimitChange): their mean limit, not whichever worker changed last.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { Pool } from '../../src/pool/index.js';
import { newWorkItem, type ItemSink } from '../../src/scheduler/index.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('two workers on one device with different limits: each change reports their mean for the device', async (t) => {
  const command = ['python3', path.join(root, 'sdk', 'python', 'tests', 'fixtures', 'oom_worker.py')];
  // Replica 0 fits 40, replica 1 only 10.
  const config = resolveConfig({ models: { m: { command, devices: 'cpu', workers_per_device: 2, batch: { max: 64, timeout: '1ms' }, env: { OOM_COST_LIMIT_REPLICA_0: '40', OOM_COST_LIMIT_REPLICA_1: '10' } } } }, root);
  const n = 4_000;
  let answered = 0;
  let allAnswered: () => void = () => {};
  const count = () => ++answered === n && allAnswered();
  const sink: ItemSink = { done: count, doneJson: count, failed: count };
  const reported: [string, string, number][] = [];
  const pool = await Pool.start({
    config,
    logDir: fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-shared-limit-')),
    sinkFor: () => sink,
    providers: [new CpuProvider()],
    sampleEveryMs: 60_000,
    onLimitChange: (model, key, limit) => reported.push([model, key, limit]),
  });
  t.after(() => pool.destroy());
  const done = new Promise<void>((resolve) => (allAnswered = resolve));
  const scheduler = pool.scheduler('m');
  for (let i = 0; i < n; i++) scheduler.push(newWorkItem(i, i + 1, `{"n":${i}}`));
  scheduler.endInput();
  await done;
  const limits = pool.workers.map((w) => w.limit.value);
  assert.ok(Math.max(...limits) > 10 && Math.min(...limits) <= 10, `workers' limits ${limits.join(', ')}`);
  assert.deepEqual(reported.at(-1), ['m', 'cpu:0', Math.floor((limits[0] + limits[1]) / 2)]);
  await pool.close();
});
