import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { Pool, type PoolEvent } from '../../src/pool/index.js';
import type { ItemSink } from '../../src/scheduler/index.js';
import { FakeNvidiaProvider } from '../audit/fake-provider.js';
import { PY_FIXTURES, tempDir } from '../helpers/cli.js';
import { GIB } from './fixtures.js';

const NO_SINK: ItemSink = { done: () => undefined, failed: () => undefined };
const NOOP = ['python3', path.join(PY_FIXTURES, 'noop_worker.py')];

/** Two H200 cards (the captured nvidia-smi output): card 0 held by another tenant but 2 GiB, card 1 with 100 GiB free. */
function hostWithCard0Taken(): FakeNvidiaProvider {
  const provider = new FakeNvidiaProvider();
  provider.setFree(0, 2 * GIB);
  provider.setFree(1, 100 * GIB);
  return provider;
}

async function start(models: Record<string, unknown>, events: PoolEvent[] = []): Promise<Pool> {
  const dir = tempDir('gpupool-placement-');
  return Pool.start({
    config: resolveConfig({ models }, dir),
    logDir: path.join(dir, 'logs'),
    sinkFor: () => NO_SINK,
    providers: [hostWithCard0Taken(), new CpuProvider()],
    onEvent: (e) => events.push(e),
  });
}

test('spread with a memory.need that only fits on card 1: real workers start on card 1 only; card 0 is skipped, with why', async () => {
  const events: PoolEvent[] = [];
  const pool = await start({ m: { command: NOOP, devices: 'all', workers_per_device: 2, placement: 'spread', memory: { need: '30GiB' } } }, events);
  try {
    assert.deepEqual(pool.workers.map((w) => w.id), ['m/cuda:1/0', 'm/cuda:1/1']);
    assert.ok(pool.workers.every((w) => w.supervisor.state === 'ready'));
    assert.deepEqual([...pool.devices.values()].map((u) => u.device.key), ['cuda:1']);
    assert.deepEqual(
      events.filter((e) => e.type === 'placement-skipped').map((e) => e.message),
      ['no room on cuda:0 for a worker of "m" (memory.need 30.0 GiB): cuda:0 has 2.00 GiB free'],
    );
  } finally {
    await pool.close(5000);
  }
});

test('more than fits is refused before any worker starts, naming each card\'s free memory', async () => {
  await assert.rejects(
    start({ m: { command: NOOP, devices: 'all', memory: { need: '120GiB' } } }),
    (e: unknown) =>
      e instanceof GpupoolError &&
      e.code === 'GPUPOOL_E_NO_DEVICE_FITS' &&
      e.message === 'model "m": no device has room for one worker needing memory.need 120.0 GiB: cuda:0 has 2.00 GiB free, cuda:1 has 100.0 GiB free.',
  );
});

test('models take their share in turn: what the first placed is not free for the second', async () => {
  await assert.rejects(
    start({
      a: { command: NOOP, devices: 'all', memory: { need: '60GiB' } },
      b: { command: NOOP, devices: 'all', memory: { need: '60GiB' } },
    }),
    /model "b": no device has room for one worker needing memory.need 60.0 GiB: cuda:0 has 2.00 GiB free, cuda:1 has 40.0 GiB free/,
  );
});
