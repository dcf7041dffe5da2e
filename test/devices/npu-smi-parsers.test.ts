import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNpuSmiInfo } from '../../src/devices/index.js';
import { fixture, MIB } from './fixtures.js';

test('910B3, 8 NPUs idle: one device per card, HBM as memory, host NPU id as index', () => {
  const { chips, processes } = parseNpuSmiInfo(fixture('npu-smi/910b3-8npu-idle.txt'));
  assert.equal(chips.length, 8);
  assert.deepEqual(chips.map((c) => c.device.key), ['npu:0', 'npu:1', 'npu:2', 'npu:3', 'npu:4', 'npu:5', 'npu:6', 'npu:7']);
  const six = chips[6];
  assert.deepEqual(six.device, {
    key: 'npu:6',
    vendor: 'ascend',
    index: 6,
    uuid: 'NPU-0000:41:00.0',
    name: '910B3',
    pciBusId: '0000:41:00.0',
    memoryTotal: 65536 * MIB,
    visibleId: '6',
  });
  assert.deepEqual(six.sample, { uuid: 'NPU-0000:41:00.0', memoryTotal: 65536 * MIB, memoryUsed: 3439 * MIB, memoryFree: (65536 - 3439) * MIB, utilization: 0 });
  assert.equal(chips[0].sample.memoryUsed, 3440 * MIB);
  assert.deepEqual(processes, []);
});

test('910B4 container given cards 0,3,4,7: host ids stay, the runtime counts 0..3', () => {
  const { chips } = parseNpuSmiInfo(fixture('npu-smi/910b4-container-npus-0-3-4-7.txt'));
  assert.deepEqual(
    chips.map((c) => [c.device.key, c.device.visibleId, c.device.memoryTotal / MIB]),
    [
      ['npu:0', '0', 32768],
      ['npu:3', '1', 32768],
      ['npu:4', '2', 32768],
      ['npu:7', '3', 32768],
    ],
  );
});

test('910B2C with a process and a trailing space on every line', () => {
  const { chips, processes } = parseNpuSmiInfo(fixture('npu-smi/910b2c-2npu-one-process.txt'));
  assert.deepEqual(chips.map((c) => [c.device.key, c.device.name, c.device.uuid, c.sample.memoryUsed / MIB]), [
    ['npu:0', '910B2C', 'NPU-0000:5A:00.0', 20701],
    ['npu:1', '910B2C', 'NPU-0000:19:00.0', 20687],
  ]);
  assert.deepEqual(processes, [{ pid: 124528, deviceUuid: 'NPU-0000:5A:00.0', usedMemory: 17400 * MIB }]);
});

test('dual-die Ascend910 (Phy-ID column): one device per chip, index from Phy-ID, process by (NPU, chip)', () => {
  const { chips, processes } = parseNpuSmiInfo(fixture('npu-smi/ascend910-dual-die-phy-id.txt'));
  assert.deepEqual(
    chips.map((c) => [c.device.key, c.npuId, c.chipId, c.device.uuid, c.sample.memoryUsed / MIB]),
    [
      ['npu:0', 0, 0, 'NPU-0000:9C:00.0', 3133],
      ['npu:1', 0, 1, 'NPU-0000:9E:00.0', 2876],
      ['npu:2', 1, 0, 'NPU-0000:37:00.0', 3116],
      ['npu:3', 1, 1, 'NPU-0000:39:00.0', 10568],
    ],
  );
  // NPU 1 chip 1 is the fourth chip, npu:3.
  assert.deepEqual(processes, [{ pid: 990711, deviceUuid: 'NPU-0000:39:00.0', usedMemory: 7746 * MIB }]);
});

test('310P3 duo cards (Device column, no HBM): DDR memory, device id as index, chips sharing a bus id stay distinct', () => {
  const { chips, processes } = parseNpuSmiInfo(fixture('npu-smi/310p3-device-column-processes.txt'));
  assert.deepEqual(
    chips.map((c) => [c.device.key, c.device.visibleId, c.device.uuid, c.sample.memoryUsed / MIB, c.device.memoryTotal / MIB]),
    [
      ['npu:0', '0', 'NPU-0000:01:00.0-0', 16302, 44280],
      ['npu:1', '1', 'NPU-0000:01:00.0-1', 15543, 43693],
      ['npu:2', '2', 'NPU-0000:02:00.0-0', 35563, 44280],
      ['npu:3', '3', 'NPU-0000:02:00.0-1', 35204, 43693],
    ],
  );
  assert.deepEqual(
    processes.map((p) => [p.pid, p.deviceUuid, p.usedMemory! / MIB]),
    [
      [3277562, 'NPU-0000:01:00.0-0', 14513],
      [3277565, 'NPU-0000:01:00.0-1', 14513],
      [3034986, 'NPU-0000:02:00.0-0', 34207],
      [3034989, 'NPU-0000:02:00.0-1', 33740],
    ],
  );
});

test('text without the device table yields no chips', () => {
  assert.deepEqual(parseNpuSmiInfo('dcmi model initialized failed, because the device is used. ret is -8020\n'), { chips: [], processes: [] });
});
