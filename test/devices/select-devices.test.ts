import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GpupoolError } from '../../src/errors/index.js';
import { pinningEnv, selectDevices, type Device } from '../../src/devices/index.js';
import { amdCards, ascend910b, ascendContainer, cpuDevice, nvidiaCards } from './host-devices.js';

const keys = (devices: Device[]): string[] => devices.map((d) => d.key);
const NO_ENV = {};

function throwsCode(fn: () => unknown, code: string, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof GpupoolError, `expected GpupoolError, got ${String(err)}`);
    assert.equal(err.code, code);
    for (const f of fragments) assert.ok(err.message.includes(f), `message lacks "${f}": ${err.message}`);
    return true;
  });
}

test('all: every accelerator in host order; cpu only where there is none', async () => {
  const cpu = await cpuDevice();
  const host = [cpu, ...nvidiaCards(4)];
  assert.deepEqual(keys(selectDevices('all', host, NO_ENV)), ['cuda:0', 'cuda:1', 'cuda:2', 'cuda:3']);
  assert.deepEqual(keys(selectDevices('all', [cpu], NO_ENV)), ['cpu:0']);
  assert.deepEqual(keys(selectDevices('cpu', host, NO_ENV)), ['cpu:0']);
  assert.deepEqual(keys(selectDevices('ALL', [...ascend910b(), cpu], NO_ENV)).length, 8);
});

test('indices, ranges, prefixed keys and lists in several forms', async () => {
  const host = [...nvidiaCards(), await cpuDevice()];
  assert.deepEqual(keys(selectDevices('6,7', host, NO_ENV)), ['cuda:6', 'cuda:7']);
  assert.deepEqual(keys(selectDevices(['6', '7'], host, NO_ENV)), ['cuda:6', 'cuda:7']);
  assert.deepEqual(keys(selectDevices('0-2', host, NO_ENV)), ['cuda:0', 'cuda:1', 'cuda:2']);
  assert.deepEqual(keys(selectDevices('cuda:1', host, NO_ENV)), ['cuda:1']);
  assert.deepEqual(keys(selectDevices('7, 6 6', host, NO_ENV)), ['cuda:7', 'cuda:6']);
  assert.deepEqual(keys(selectDevices('1,cpu', host, NO_ENV)), ['cuda:1', 'cpu:0']);
  const npu = [...ascend910b(), await cpuDevice()];
  assert.deepEqual(keys(selectDevices('npu:6,7', npu, NO_ENV)), ['npu:6', 'npu:7']);
  assert.deepEqual(keys(selectDevices('rocm:0', amdCards(), NO_ENV)), ['rocm:0']);
});

test('UUIDs: full, unique prefix, case-insensitive; an ambiguous prefix names the candidates', () => {
  const host = nvidiaCards();
  assert.deepEqual(keys(selectDevices('GPU-a0b1c2d3-2d3f-4e50-9b22-222222222222', host, NO_ENV)), ['cuda:2']);
  assert.deepEqual(keys(selectDevices('gpu-5f1c', host, NO_ENV)), ['cuda:0']);
  assert.deepEqual(keys(selectDevices('cuda:GPU-e4f5', host, NO_ENV)), ['cuda:6']);
  assert.deepEqual(keys(selectDevices('NPU-0000:41', ascend910b(), NO_ENV)), ['npu:6']);
  throwsCode(() => selectDevices('GPU-5f1', host, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', 'GPU-5f1', 'cuda:0 GPU-5f1c7a2e', 'cuda:1 GPU-5f1d8b3f');
});

test('unknown devices: the error names the value and lists what exists', async () => {
  const host = [...nvidiaCards(), await cpuDevice()];
  throwsCode(() => selectDevices('9', host, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', 'cuda:9', 'cuda:0-7 (NVIDIA H100 80GB HBM3)', 'cpu:0');
  throwsCode(() => selectDevices('npu:0', host, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', 'npu:0', 'cuda:0-7');
  throwsCode(() => selectDevices('GPU-ffff', host, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', '"GPU-ffff"', '`all`');
  throwsCode(() => selectDevices('', host, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', 'no devices were named');
  throwsCode(() => selectDevices('3-1', host, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', '"3-1"');
  const cpuOnly = [await cpuDevice()];
  throwsCode(() => selectDevices('0', cpuOnly, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', 'no accelerator', '`cpu`');
});

test('bare indices are ambiguous only with two accelerator vendors', async () => {
  const mixed = [...nvidiaCards(2), ...ascend910b(), await cpuDevice()];
  throwsCode(() => selectDevices('1', mixed, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', 'ambiguous', 'cuda:1 or npu:1');
  assert.deepEqual(keys(selectDevices('npu:1', mixed, NO_ENV)), ['npu:1']);
  assert.deepEqual(keys(selectDevices('cuda:1', mixed, NO_ENV)), ['cuda:1']);
  assert.deepEqual(keys(selectDevices('all', mixed, NO_ENV)), ['cuda:0', 'cuda:1', 'npu:0', 'npu:1', 'npu:2', 'npu:3', 'npu:4', 'npu:5', 'npu:6', 'npu:7']);
});

test('CUDA_VISIBLE_DEVICES: only those cards, still named by host index', async () => {
  const host = [...nvidiaCards(), await cpuDevice()];
  const env = { CUDA_VISIBLE_DEVICES: '6,7' };
  assert.deepEqual(keys(selectDevices('all', host, env)), ['cuda:6', 'cuda:7']);
  assert.deepEqual(keys(selectDevices('6,7', host, env)), ['cuda:6', 'cuda:7']);
  throwsCode(() => selectDevices('0', host, env), 'GPUPOOL_E_DEVICE_NOT_VISIBLE', 'cuda:0', 'CUDA_VISIBLE_DEVICES="6,7"', 'cuda:6-7');
  // UUID prefixes, as CUDA accepts them.
  assert.deepEqual(keys(selectDevices('all', host, { CUDA_VISIBLE_DEVICES: 'GPU-e4f5,GPU-f506' })), ['cuda:6', 'cuda:7']);
  // CUDA stops at the first invalid entry.
  assert.deepEqual(keys(selectDevices('all', host, { CUDA_VISIBLE_DEVICES: '2,banana,3' })), ['cuda:2']);
});

test('CUDA_VISIBLE_DEVICES="" or -1 hides every GPU on purpose: all means the CPU', async () => {
  const host = [...nvidiaCards(2), await cpuDevice()];
  assert.deepEqual(keys(selectDevices('all', host, { CUDA_VISIBLE_DEVICES: '' })), ['cpu:0']);
  assert.deepEqual(keys(selectDevices('all', host, { CUDA_VISIBLE_DEVICES: '-1' })), ['cpu:0']);
  throwsCode(() => selectDevices('cuda:0', host, { CUDA_VISIBLE_DEVICES: '' }), 'GPUPOOL_E_DEVICE_NOT_VISIBLE', 'CUDA_VISIBLE_DEVICES=""', 'leaves none');
});

test('ASCEND_RT_VISIBLE_DEVICES takes logical ids: in a container given 0,3,4,7, "1,2" means npu:3 and npu:4', async () => {
  const host = [...ascendContainer(), await cpuDevice()];
  assert.deepEqual(keys(selectDevices('all', host, { ASCEND_RT_VISIBLE_DEVICES: '1,2' })), ['npu:3', 'npu:4']);
  assert.deepEqual(keys(selectDevices('3,4', host, { ASCEND_RT_VISIBLE_DEVICES: '1,2' })), ['npu:3', 'npu:4']);
  throwsCode(() => selectDevices('npu:7', host, { ASCEND_RT_VISIBLE_DEVICES: '1,2' }), 'GPUPOOL_E_DEVICE_NOT_VISIBLE', 'npu:7', 'ASCEND_RT_VISIBLE_DEVICES="1,2"');
});

test('host NPU ids in ASCEND_RT_VISIBLE_DEVICES where the runtime counts 0..n-1: an error, never a silent CPU run', async () => {
  const host = [...ascendContainer(), await cpuDevice()];
  throwsCode(
    () => selectDevices('all', host, { ASCEND_RT_VISIBLE_DEVICES: '4,7' }),
    'GPUPOOL_E_DEVICE_NOT_VISIBLE',
    'ASCEND_RT_VISIBLE_DEVICES="4,7"',
    '"4", "7" named no device',
    'npu:4 is 2',
    'npu:7 is 3',
  );
});

test('8-card 910B host: ASCEND_RT_VISIBLE_DEVICES=6,7 restricts all to cards 6 and 7', async () => {
  const host = [...ascend910b(), await cpuDevice()];
  assert.deepEqual(keys(selectDevices('all', host, { ASCEND_RT_VISIBLE_DEVICES: '6,7' })), ['npu:6', 'npu:7']);
});

test('ROCR_VISIBLE_DEVICES (indices or uuids) then HIP_VISIBLE_DEVICES within it', () => {
  const host = amdCards();
  assert.deepEqual(keys(selectDevices('all', host, { ROCR_VISIBLE_DEVICES: '2,GPU-3333333333333333' })), ['rocm:2', 'rocm:3']);
  assert.deepEqual(keys(selectDevices('all', host, { ROCR_VISIBLE_DEVICES: '1,2,3', HIP_VISIBLE_DEVICES: '0' })), ['rocm:1']);
  assert.deepEqual(keys(selectDevices('all', host, { HIP_VISIBLE_DEVICES: '3' })), ['rocm:3']);
  // Without NVIDIA cards, HIP reads CUDA_VISIBLE_DEVICES too.
  assert.deepEqual(keys(selectDevices('all', host, { CUDA_VISIBLE_DEVICES: '1' })), ['rocm:1']);
  throwsCode(
    () => selectDevices('rocm:0', host, { ROCR_VISIBLE_DEVICES: '1,2,3', HIP_VISIBLE_DEVICES: '0' }),
    'GPUPOOL_E_DEVICE_NOT_VISIBLE',
    'ROCR_VISIBLE_DEVICES="1,2,3"',
    'HIP_VISIBLE_DEVICES="0"',
  );
});

test('one accelerator vendor: bare indices are its own; prefixes carry over lists and ranges', async () => {
  const npu = [...ascend910b(), await cpuDevice()];
  assert.deepEqual(keys(selectDevices('6,7', npu, NO_ENV)), ['npu:6', 'npu:7']);
  assert.deepEqual(keys(selectDevices('npu:5-7', npu, NO_ENV)), ['npu:5', 'npu:6', 'npu:7']);
  assert.deepEqual(keys(selectDevices(['npu:6', '7'], npu, NO_ENV)), ['npu:6', 'npu:7']);
  const amd = [...amdCards(), await cpuDevice()];
  assert.deepEqual(keys(selectDevices('1', amd, NO_ENV)), ['rocm:1']);
  assert.deepEqual(keys(selectDevices('rocm:0,2', amd, NO_ENV)), ['rocm:0', 'rocm:2']);
  assert.deepEqual(keys(selectDevices('hip:3', amd, NO_ENV)), ['rocm:3']);
  throwsCode(() => selectDevices('npu:6,8', npu, NO_ENV), 'GPUPOOL_E_UNKNOWN_DEVICE', 'npu:8', 'npu:0-7 (910B3)');
});

test('selection to pinning: "npu:3,4" in a container given NPUs 0,3,4,7 pins each worker by its logical id', () => {
  const chosen = selectDevices('npu:3,4', ascendContainer(), NO_ENV);
  assert.deepEqual(chosen.map((d) => pinningEnv([d]).ASCEND_RT_VISIBLE_DEVICES), ['1', '2']);
  assert.deepEqual(chosen.map((d) => pinningEnv([d]).GPUPOOL_DEVICE_IDS), ['3', '4']);
  const amd = selectDevices('rocm:2,3', amdCards(), NO_ENV);
  assert.deepEqual(pinningEnv(amd).ROCR_VISIBLE_DEVICES, 'GPU-2222222222222222,GPU-3333333333333333');
});
