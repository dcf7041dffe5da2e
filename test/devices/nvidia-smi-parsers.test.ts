import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseNvidiaSmiApps, parseNvidiaSmiGpus } from '../../src/devices/index.js';
import { fixture, MIB } from './fixtures.js';

const CARD0 = 'GPU-7cb87390-070c-caf7-0085-ee35d0beed8d';
const CARD1 = 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57';

test('2× H200 idle: PCI bus order, MiB → bytes, free as reported (not total − used)', () => {
  const { devices, samples } = parseNvidiaSmiGpus(fixture('nvidia-smi/h200x2-idle-gpus.csv'));
  assert.deepEqual(devices, [
    { key: 'cuda:0', vendor: 'nvidia', index: 0, uuid: CARD0, name: 'NVIDIA H200', pciBusId: '00000000:00:06.0', memoryTotal: 143771 * MIB, visibleId: CARD0 },
    { key: 'cuda:1', vendor: 'nvidia', index: 1, uuid: CARD1, name: 'NVIDIA H200', pciBusId: '00000000:00:07.0', memoryTotal: 143771 * MIB, visibleId: CARD1 },
  ]);
  // The driver reserves 615 MiB: free is 143156, not 143771 − 0.
  assert.deepEqual(samples[0], { uuid: CARD0, memoryTotal: 143771 * MIB, memoryUsed: 0, memoryFree: 143156 * MIB, utilization: 0 });
});

test('2× H200 with five processes: memory per card and per process', () => {
  const { samples } = parseNvidiaSmiGpus(fixture('nvidia-smi/h200x2-busy-gpus.csv'));
  assert.deepEqual(samples.map((s) => [s.uuid, s.memoryUsed / MIB, s.memoryFree / MIB]), [
    [CARD0, 4551, 138606],
    [CARD1, 8274, 134882],
  ]);
  const apps = parseNvidiaSmiApps(fixture('nvidia-smi/h200x2-busy-apps.csv'));
  assert.deepEqual(apps, [
    { pid: 574, deviceUuid: CARD0, usedMemory: 1018 * MIB },
    { pid: 569, deviceUuid: CARD0, usedMemory: 3518 * MIB },
    { pid: 570, deviceUuid: CARD1, usedMemory: 5518 * MIB },
    { pid: 572, deviceUuid: CARD1, usedMemory: 1218 * MIB },
    { pid: 571, deviceUuid: CARD1, usedMemory: 1518 * MIB },
  ]);
});

test('no compute processes: nvidia-smi prints nothing', () => {
  assert.deepEqual(parseNvidiaSmiApps(fixture('nvidia-smi/h200x2-idle-apps.csv')), []);
  assert.deepEqual(parseNvidiaSmiApps('No running processes found\n'), []);
});

test('1× H200: the same card model reads the same way', () => {
  const { devices, samples } = parseNvidiaSmiGpus(fixture('nvidia-smi/h200x1-busy-gpus.csv'));
  assert.equal(devices.length, 1);
  assert.equal(devices[0].uuid, 'GPU-eb8e4270-fbe7-8d81-f593-5baf0d173e76');
  assert.equal(samples[0].memoryUsed, 12822 * MIB);
  assert.equal(parseNvidiaSmiApps(fixture('nvidia-smi/h200x1-busy-apps.csv')).length, 5);
});

test('[N/A] and [Not Supported] become undefined, never NaN', () => {
  // The placeholders nvidia-smi prints in these columns (unified-memory parts, vGPUs, containers).
  const gpus = parseNvidiaSmiGpus('0, GPU-11111111-2222-3333-4444-555555555555, NVIDIA GB10, 0000000F:01:00.0, [N/A], [N/A], [N/A], [Not Supported]\n');
  assert.equal(gpus.devices[0].memoryTotal, 0);
  assert.deepEqual(gpus.samples[0], { uuid: 'GPU-11111111-2222-3333-4444-555555555555', memoryTotal: 0, memoryUsed: 0, memoryFree: 0 });
  const apps = parseNvidiaSmiApps('4242, GPU-11111111-2222-3333-4444-555555555555, [N/A]\n');
  assert.deepEqual(apps, [{ pid: 4242, deviceUuid: 'GPU-11111111-2222-3333-4444-555555555555' }]);
});

test('a name holding a comma does not shift the columns; a short line is an error', () => {
  const { devices } = parseNvidiaSmiGpus('3, GPU-aaaa, Tesla K80, rev 2, 00000000:8A:00.0, 11441, 0, 11441, 0\n');
  assert.deepEqual([devices[0].name, devices[0].pciBusId, devices[0].memoryTotal], ['Tesla K80, rev 2', '00000000:8A:00.0', 11441 * MIB]);
  assert.throws(() => parseNvidiaSmiGpus('NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver.\n'), { name: 'DeviceToolError' });
});
