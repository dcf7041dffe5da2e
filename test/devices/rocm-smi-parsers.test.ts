import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseRocmSmiJson,
  parseRocmSmiPidGpus,
  parseRocmSmiPids,
  parseRocmSmiProcesses,
  type Device,
} from '../../src/devices/index.js';
import { fixture } from './fixtures.js';

test('RX 7900 XT: memory in bytes, product name, no unique id → index-based identity', () => {
  const { devices, samples } = parseRocmSmiJson(fixture('rocm-smi/rx7900xt-showproductname-showuse-showmeminfo.json'));
  assert.deepEqual(devices, [
    { key: 'rocm:0', vendor: 'amd', index: 0, uuid: 'rocm-0', name: 'Radeon RX 7900 XT', memoryTotal: 21458059264 },
  ]);
  assert.deepEqual(samples, [
    { uuid: 'rocm-0', memoryTotal: 21458059264, memoryUsed: 27856896, memoryFree: 21458059264 - 27856896, utilization: 0 },
  ]);
});

test('MI250 `-a --json` of older ROCm: unique id → GPU- uuid ROCr accepts, "Card series" spelling, bus id, no VRAM figures', () => {
  const { devices, samples } = parseRocmSmiJson(fixture('rocm-smi/mi250-showallinfo.json'));
  assert.deepEqual(devices, [
    {
      key: 'rocm:0',
      vendor: 'amd',
      index: 0,
      uuid: 'GPU-719d230578348e8c',
      name: 'AMD INSTINCT MI250 (MCM) OAM AC MBA',
      pciBusId: '0000:2F:00.0',
      memoryTotal: 0,
      visibleId: 'GPU-719d230578348e8c',
    },
  ]);
  assert.equal(samples[0].utilization, 0);
  assert.equal(samples[0].memoryTotal, 0);
});

test('warnings printed before the JSON are skipped; non-JSON is a DeviceToolError', () => {
  const text = `WARNING: AMD GPU device(s) is/are in a low-power state. Check power control/runtime_status\n\n${fixture('rocm-smi/rx7900xt-showproductname-showuse-showmeminfo.json')}`;
  assert.equal(parseRocmSmiJson(text).devices[0].name, 'Radeon RX 7900 XT');
  assert.throws(() => parseRocmSmiJson('ERROR:root:Driver not initialized (amdgpu not found in modules)\n'), { name: 'DeviceToolError' });
});

test('KFD Processes table: tab-separated (MI300A) and space-separated pastes', () => {
  assert.deepEqual(parseRocmSmiPids(fixture('rocm-smi/mi300a-showpids-daemon.txt')), [
    { pid: 1058463, name: '<daemon>', gpuCount: 0, vramUsed: 0 },
  ]);
  const rows = parseRocmSmiPids(fixture('rocm-smi/showpids-pt-main-thread.txt'));
  assert.equal(rows.length, 8);
  assert.deepEqual(rows[2], { pid: 1168514, name: 'pt_main_thread', gpuCount: 1, vramUsed: 177386942464 });
});

test('GPUs Indexed by PID: devices one per line, PIDs holding none kept empty', () => {
  const map = parseRocmSmiPidGpus(fixture('rocm-smi/mi300x-showpidgpus.txt'));
  assert.deepEqual([...map], [
    [78912, []],
    [79301, [1]],
    [9710, []],
    [1951076, []],
    [1949829, [0, 1]],
    [10678, [0]],
  ]);
  assert.deepEqual([...parseRocmSmiPidGpus(fixture('rocm-smi/mi300a-showpidgpus-daemon.txt'))], [[1058463, []]]);
});

test('processes join both tables; memory only where a PID holds one GPU', () => {
  const devices: Device[] = [0, 1].map((index) => ({
    key: `rocm:${index}`, vendor: 'amd', index, uuid: `GPU-${index}`, name: 'AMD Instinct MI300X', memoryTotal: 1,
  }));
  const pids = 'KFD process information:\nPID\tPROCESS NAME\tGPU(s)\tVRAM USED\tSDMA USED\tCU OCCUPANCY\t\n79301\tpython\t1\t4096\t0\t0\t\n1949829\tpython\t2\t8192\t0\t0\t\n====\n';
  const processes = parseRocmSmiProcesses(pids + fixture('rocm-smi/mi300x-showpidgpus.txt'), devices);
  assert.deepEqual(processes, [
    { pid: 79301, deviceUuid: 'GPU-1', usedMemory: 4096 },
    { pid: 1949829, deviceUuid: 'GPU-0' },
    { pid: 1949829, deviceUuid: 'GPU-1' },
    { pid: 10678, deviceUuid: 'GPU-0' },
  ]);
  // The MI300A monitoring daemon holds no GPU: not listed.
  const daemon = fixture('rocm-smi/mi300a-showpids-daemon.txt') + fixture('rocm-smi/mi300a-showpidgpus-daemon.txt');
  assert.deepEqual(parseRocmSmiProcesses(daemon, devices), []);
});
