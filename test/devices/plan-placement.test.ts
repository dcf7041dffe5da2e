import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GpupoolError } from '../../src/errors/index.js';
import { planWorkers } from '../../src/devices/index.js';
import { amdCards, ascend910b, cpuDevice, nvidiaCards } from './host-devices.js';

const summary = (p: ReturnType<typeof planWorkers>): string[] => p.map((w) => `${w.key}/${w.replica}:${w.devices.map((d) => d.index).join('+')}`);

test('one worker per device by default', () => {
  assert.deepEqual(summary(planWorkers(nvidiaCards().slice(6))), ['cuda:6/0:6', 'cuda:7/0:7']);
});

test('several workers per device come replica by replica', () => {
  assert.deepEqual(summary(planWorkers(ascend910b().slice(6), { workersPerDevice: 2 })), [
    'npu:6/0:6',
    'npu:7/0:7',
    'npu:6/1:6',
    'npu:7/1:7',
  ]);
});

test('devicesPerWorker groups consecutive devices in the order chosen', () => {
  const cards = nvidiaCards();
  const plan = planWorkers([cards[6], cards[7], cards[2], cards[3]], { devicesPerWorker: 2, workersPerDevice: 1 });
  assert.deepEqual(summary(plan), ['cuda:6+7/0:6+7', 'cuda:2+3/0:2+3']);
  assert.equal(plan[0].devices.length, 2);
});

test('the CPU takes workers like any device', async () => {
  assert.deepEqual(summary(planWorkers([await cpuDevice()], { workersPerDevice: 3 })), ['cpu:0/0:0', 'cpu:0/1:0', 'cpu:0/2:0']);
});

test('errors name the option, the value and what would work', () => {
  const code = (c: string, ...parts: string[]) => (e: unknown) =>
    e instanceof GpupoolError && e.code === c && parts.every((p) => e.message.includes(p));
  assert.throws(() => planWorkers(nvidiaCards(3), { devicesPerWorker: 2 }), code('GPUPOOL_E_CONFIG', '`devicesPerWorker` is 2', '3 devices', 'cuda:0, cuda:1, cuda:2'));
  assert.throws(() => planWorkers(nvidiaCards(2), { workersPerDevice: 0 }), code('GPUPOOL_E_CONFIG', '`workersPerDevice`', '"0"'));
  assert.throws(() => planWorkers(nvidiaCards(2), { devicesPerWorker: 1.5 }), code('GPUPOOL_E_CONFIG', '"1.5"'));
  assert.throws(() => planWorkers([]), code('GPUPOOL_E_CONFIG', 'no devices'));
  assert.throws(() => planWorkers([nvidiaCards(1)[0], amdCards()[0]], { devicesPerWorker: 2 }), code('GPUPOOL_E_CONFIG', 'different vendors', 'cuda:0, rocm:0'));
});
