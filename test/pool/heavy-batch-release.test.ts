// End to end, real worker processes: a worker that says what each batch took (`batch_memory`)
// is asked to give back its cache after a page far heavier than its usual batches, on a device
// it shares with another worker of the model. The control run, whose workers do not say, asks
// nothing after the page: the test fails without the scheduler's heavy-batch release.
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

/**
 * Two workers of shared_memory_worker.py on one simulated device of 100, batches of one: an item
 * of 150 first (out of memory even with the device to itself: the run has seen an out-of-memory),
 * then 40 items of 1, a page of 60 (fits beside the other's cache of 1, the first time), 10 of 1.
 * Returns each worker's log lines from the page's batch on.
 */
async function run(reportMemory: boolean, t: { after: (fn: () => Promise<void>) => void }): Promise<string[][]> {
  const command = ['python3', path.join(root, 'sdk', 'python', 'tests', 'fixtures', 'shared_memory_worker.py')];
  const device = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-heavy-device-'));
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-heavy-logs-'));
  const env = { SHARED_DEVICE_DIR: device, DEVICE_CAPACITY: '100', SIM_TRACE: '1', BATCH_MEMORY: reportMemory ? '1' : '0' };
  const config = resolveConfig({ models: { m: { command, devices: 'cpu', workers_per_device: 2, batch: { max: 1, timeout: '1ms' }, env } } }, root);
  const mems = [150, ...Array<number>(40).fill(1), 60, ...Array<number>(10).fill(1)];
  let answered = 0;
  const failed: number[] = [];
  let allAnswered: () => void = () => {};
  const count = () => ++answered === mems.length && allAnswered();
  const sink: ItemSink = { done: count, doneJson: count, failed: (item) => (failed.push(item.id as number), count()) };
  const pool = await Pool.start({ config, logDir, sinkFor: () => sink, providers: [new CpuProvider()], sampleEveryMs: 60_000 });
  t.after(() => pool.destroy());
  const done = new Promise<void>((resolve) => (allAnswered = resolve));
  const scheduler = pool.scheduler('m');
  mems.forEach((mem, i) => scheduler.push(newWorkItem(i, i + 1, `{"n":${i},"mem":${mem}}`)));
  scheduler.endInput();
  await done;
  await pool.close();
  assert.deepEqual(failed, [1], 'only the item of 150 failed');
  return fs.readdirSync(logDir).map((f) => {
    const lines = fs.readFileSync(path.join(logDir, f), 'utf8').split('\n');
    const page = lines.findIndex((l) => / batch 1 ok \(needs 60,/.test(l));
    return page === -1 ? [] : lines.slice(page);
  });
}

test('a page that fits the first time on a shared device: its worker gives back its cache after it when it says what batches take', async (t) => {
  const [measured, control] = [await run(true, t), await run(false, t)];
  const releasedAfterPage = (logs: string[][]) => logs.some((lines) => lines.length > 0 && lines.slice(1).some((l) => / release \(holds 60\)/.test(l)));
  assert.ok(measured.some((lines) => lines.length > 0), 'the page ran');
  assert.equal(releasedAfterPage(measured), true, measured.map((l) => l.slice(0, 4).join('\n')).join('\n--\n'));
  assert.equal(releasedAfterPage(control), false, 'the control run asks nothing after the page');
});
