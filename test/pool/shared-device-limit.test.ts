// The workers of a model on one device share one batch limit: what one learns of the device's
// memory holds for the others, and a (model, device) remembers that limit (gpupool serve's limit
// store, through the pool's onLimitChange). Apart, on a shared card, the first worker to grow
// took the memory and left the other at a limit of 1 or 2.
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

test('two workers on one device share one limit: both run batches of the size that fits two, and the device reports it', async (t) => {
  // A simulated device of 100 units shared by the two processes; an item weighs 10: two batches of 5 fit.
  const command = ['python3', path.join(root, 'sdk', 'python', 'tests', 'fixtures', 'shared_memory_worker.py')];
  const device = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-shared-device-'));
  const config = resolveConfig({ models: { m: { command, devices: 'cpu', workers_per_device: 2, batch: { max: 8, timeout: '1ms' }, env: { SHARED_DEVICE_DIR: device, DEVICE_CAPACITY: '100' } } } }, root);
  const n = 4_000;
  let answered = 0;
  let failed = 0;
  let allAnswered: () => void = () => {};
  const count = () => ++answered === n && allAnswered();
  const sink: ItemSink = { done: count, doneJson: count, failed: () => (failed++, count()) };
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
  for (let i = 0; i < n; i++) scheduler.push(newWorkItem(i, i + 1, `{"n":${i},"mem":10}`));
  scheduler.endInput();
  await done;
  assert.equal(failed, 0);
  const [a, b] = pool.workers;
  assert.equal(a.limit, b.limit, 'one limit for the two');
  // 5 fits two; 6 (grown into at the very end, not yet tried) may be where it stands.
  assert.ok(a.limit.value >= 3 && a.limit.value <= 6, `limit ${a.limit.value}`);
  assert.ok(reported.some(([, , limit]) => limit < 8), 'an out-of-memory lowered it');
  assert.deepEqual(reported.at(-1), ['m', 'cpu:0', a.limit.value]);
  await pool.close();
});
