import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GpupoolError } from '../../src/errors/index.js';
import { planWorkers, planWorkersByMemory, type Device } from '../../src/devices/index.js';
import { GIB } from './fixtures.js';
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
  // With the model named (as the pool and doctor do), the config's keys, as the user wrote them.
  assert.throws(() => planWorkers(nvidiaCards(1), { devicesPerWorker: 2, model: 'llm' }), code('GPUPOOL_E_CONFIG', '`models.llm.devices_per_worker` is 2 but 1 device was chosen (cuda:0)'));
  assert.throws(() => planWorkers(nvidiaCards(2), { workersPerDevice: 0, model: 'llm' }), code('GPUPOOL_E_CONFIG', '`models.llm.workers_per_device`', '"0"'));
  assert.throws(() => planWorkers(nvidiaCards(2), { workersPerDevice: 0 }), code('GPUPOOL_E_CONFIG', '`workersPerDevice`', '"0"'));
  assert.throws(() => planWorkers(nvidiaCards(2), { devicesPerWorker: 1.5 }), code('GPUPOOL_E_CONFIG', '"1.5"'));
  assert.throws(() => planWorkers([]), code('GPUPOOL_E_CONFIG', 'no devices'));
  assert.throws(() => planWorkers([nvidiaCards(1)[0], amdCards()[0]], { devicesPerWorker: 2 }), code('GPUPOOL_E_CONFIG', 'different vendors', 'cuda:0, rocm:0'));
});

/** Free bytes per card, by index. */
const freeOf = (cards: readonly Device[], gib: readonly number[]): Map<string, number> => new Map(cards.map((d, i) => [d.uuid, gib[i] * GIB]));

test('memory.need: spread skips a card without room and gives the others up to workersPerDevice each', () => {
  const cards = nvidiaCards(4);
  // Card 0 is held by another tenant; card 2 fits one worker of 30 GiB, cards 1 and 3 several.
  const plan = planWorkersByMemory(cards, { need: 30 * GIB, free: freeOf(cards, [2, 79, 40, 79]), workersPerDevice: 2, model: 'resnet' });
  assert.deepEqual(summary(plan.workers), ['cuda:1/0:1', 'cuda:2/0:2', 'cuda:3/0:3', 'cuda:1/1:1', 'cuda:3/1:3']);
  assert.deepEqual(plan.skipped.map((s) => s.key), ['cuda:0']);
  assert.equal(plan.skipped[0].message, 'no room on cuda:0 for a worker of "resnet" (memory.need 30.0 GiB): cuda:0 has 2.00 GiB free');
  assert.deepEqual([...plan.taken].map(([uuid, bytes]) => [cards.findIndex((d) => d.uuid === uuid), bytes / GIB]), [[1, 60], [2, 30], [3, 60]]);
});

test('memory.need: pack puts the same number of workers on as few cards as hold them, the fullest first', () => {
  const cards = nvidiaCards(4);
  // 4 cards × 1 = 4 workers of 20 GiB: card 2 (45 GiB free) takes 2, card 1 (70) the other 2; cards 0 (5) and 3 (79) stay whole.
  const plan = planWorkersByMemory(cards, { need: 20 * GIB, free: freeOf(cards, [5, 70, 45, 79]), placement: 'pack' });
  assert.deepEqual(summary(plan.workers), ['cuda:1/0:1', 'cuda:2/0:2', 'cuda:1/1:1', 'cuda:2/1:2']);
  assert.deepEqual(plan.skipped.map((s) => s.key), ['cuda:0']);
  // 8 asked (4 cards × 2) but one 40 GiB worker fits on each of cards 1-3: pack places what fits.
  const few = planWorkersByMemory(cards, { need: 40 * GIB, free: freeOf(cards, [5, 70, 45, 79]), placement: 'pack', workersPerDevice: 2 });
  assert.deepEqual(summary(few.workers), ['cuda:1/0:1', 'cuda:2/0:2', 'cuda:3/0:3']);
});

test('memory.need: the reserve stays free; free memory counts, never the card\'s total', () => {
  const cards = nvidiaCards(2);
  const free = freeOf(cards, [31, 80]);
  assert.equal(planWorkersByMemory(cards, { need: 30 * GIB, free }).workers.length, 2);
  const plan = planWorkersByMemory(cards, { need: 30 * GIB, reserve: 2 * GIB, free });
  assert.deepEqual(summary(plan.workers), ['cuda:1/0:1']);
  assert.match(plan.skipped[0].message, /memory.need 30.0 GiB plus memory.reserve 2.00 GiB\): cuda:0 has 31.0 GiB free/);
});

test('memory.need: a device group fits only where every card of it has room; a card with no reading is taken at its word', async () => {
  const cards = nvidiaCards(4);
  const plan = planWorkersByMemory(cards, { need: 30 * GIB, free: freeOf(cards, [79, 10, 79, 79]), devicesPerWorker: 2 });
  assert.deepEqual(summary(plan.workers), ['cuda:2+3/0:2+3']);
  assert.deepEqual(plan.skipped[0].free, [79 * GIB, 10 * GIB]);
  const unknown = planWorkersByMemory(cards.slice(0, 1), { need: 30 * GIB, free: new Map(), workersPerDevice: 2 });
  assert.equal(unknown.workers.length, 2);
});

test('memory.need: nothing fits → refused, naming each device\'s free memory', () => {
  const cards = nvidiaCards(2);
  assert.throws(
    () => planWorkersByMemory(cards, { need: 100 * GIB, reserve: GIB, free: freeOf(cards, [2.5, 60]), model: 'llm' }),
    (e: unknown) =>
      e instanceof GpupoolError &&
      e.code === 'GPUPOOL_E_NO_DEVICE_FITS' &&
      e.message === 'model "llm": no device has room for one worker needing memory.need 100.0 GiB plus memory.reserve 1.00 GiB: cuda:0 has 2.50 GiB free, cuda:1 has 60.0 GiB free.',
  );
  assert.throws(() => planWorkersByMemory(ascend910b().slice(6), { need: 70 * GIB, free: freeOf(ascend910b().slice(6), [1, 1]), placement: 'pack' }), /npu:6 has 1.00 GiB free, npu:7 has 1.00 GiB free/);
});
