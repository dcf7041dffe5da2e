import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import {
  closeDeviceProviders,
  CpuProvider,
  NpuSmiProvider,
  NvidiaSmiProvider,
  NvmlProvider,
  openDeviceProviders,
  RocmSmiProvider,
  runDeviceTool,
  type SkippedSource,
} from '../../src/devices/index.js';
import { fakeEnv, fakeTools } from './fake-tools.js';
import { MIB } from './fixtures.js';

test('nvidia-smi provider runs the exact queries and reads their output', async () => {
  const tools = await fakeTools({ nvidiaApps: '569, GPU-7cb87390-070c-caf7-0085-ee35d0beed8d, 3518\n' });
  const provider = new NvidiaSmiProvider(tools.nvidia);
  assert.deepEqual((await provider.list()).map((d) => d.key), ['cuda:0', 'cuda:1']);
  assert.deepEqual((await provider.sample()).map((s) => s.memoryUsed / MIB), [4551, 8274]);
  assert.deepEqual(await provider.processes(), [{ pid: 569, deviceUuid: 'GPU-7cb87390-070c-caf7-0085-ee35d0beed8d', usedMemory: 3518 * MIB }]);
});

test('npu-smi provider: one `npu-smi info` serves devices, samples and processes', async () => {
  const tools = await fakeTools();
  const provider = new NpuSmiProvider(tools.npu);
  const [devices, samples, processes] = await Promise.all([provider.list(), provider.sample(), provider.processes()]);
  assert.equal((await readFile(tools.npuCalls, 'utf8')).trim().split('\n').length, 1);
  assert.deepEqual(devices.map((d) => d.uuid), ['NPU-0000:5A:00.0', 'NPU-0000:19:00.0']);
  assert.equal(samples[1].memoryUsed, 20687 * MIB);
  assert.deepEqual(processes, [{ pid: 124528, deviceUuid: 'NPU-0000:5A:00.0', usedMemory: 17400 * MIB }]);
});

test('rocm-smi provider: device JSON, then both process tables in one call', async () => {
  const provider = new RocmSmiProvider((await fakeTools()).rocm);
  assert.deepEqual((await provider.list()).map((d) => [d.key, d.name]), [['rocm:0', 'Radeon RX 7900 XT']]);
  assert.equal((await provider.sample())[0].memoryTotal, 21458059264);
  // Only rocm:0 exists here: PIDs on DRM device 1 are dropped, the two-GPU PID has no memory figure.
  assert.deepEqual(await provider.processes(), [
    { pid: 1949829, deviceUuid: 'rocm-0' },
    { pid: 10678, deviceUuid: 'rocm-0' },
  ]);
});

test('a failing or hanging tool becomes a DeviceToolError carrying its words', async () => {
  const tools = await fakeTools();
  await assert.rejects(new NvidiaSmiProvider(tools.broken).list(), (err: Error) => {
    assert.equal(err.name, 'DeviceToolError');
    assert.match(err.message, /couldn't communicate with the NVIDIA driver/);
    return true;
  });
  await assert.rejects(runDeviceTool('slow-smi', tools.slow, [], 200), /timed out after 200 ms/);
  await assert.rejects(runDeviceTool('nvidia-smi', '/nonexistent/nvidia-smi', []), { name: 'DeviceToolError' });
});

test('NVML loads nothing where the library is absent: open() answers null', () => {
  assert.equal(NvmlProvider.open('/nonexistent/libnvidia-ml.so.1'), null);
});

test('discovery: smi fallbacks for every vendor when NVML is absent, the CPU always last', async () => {
  const tools = await fakeTools();
  const skipped: SkippedSource[] = [];
  const providers = await openDeviceProviders({ env: fakeEnv(tools) }, skipped);
  try {
    assert.deepEqual(providers.map((p) => p.source), ['nvidia-smi', 'npu-smi', 'rocm-smi', 'os']);
    assert.deepEqual(skipped.map((s) => s.source), ['nvml']);
  } finally {
    await closeDeviceProviders(providers);
  }
});

test('discovery: GPUPOOL_NO_NVML=1 skips NVML without trying it; broken and missing tools are passed over', async () => {
  const tools = await fakeTools();
  const skipped: SkippedSource[] = [];
  const env = { PATH: '', GPUPOOL_NO_NVML: '1', GPUPOOL_NVIDIA_SMI: tools.broken };
  const providers = await openDeviceProviders({ env }, skipped);
  assert.deepEqual(providers.map((p) => p.source), ['os']);
  assert.ok(providers[0] instanceof CpuProvider);
  assert.deepEqual(skipped.map((s) => s.source), ['nvidia-smi', 'npu-smi', 'rocm-smi']);
  assert.match(skipped[0].reason, /couldn't communicate/);
  assert.equal(skipped[1].reason, 'not found');
});

test('the CPU provider: one device, host memory, a utilisation between 0 and 100', async () => {
  const cpu = new CpuProvider();
  const [device] = await cpu.list();
  assert.equal(device.key, 'cpu:0');
  assert.equal(device.uuid, 'cpu');
  assert.ok(device.memoryTotal > 0);
  const [sample] = await cpu.sample();
  assert.equal(sample.memoryUsed + sample.memoryFree, sample.memoryTotal);
  assert.ok(sample.utilization! >= 0 && sample.utilization! <= 100);
  assert.deepEqual(await cpu.processes(), []);
});
