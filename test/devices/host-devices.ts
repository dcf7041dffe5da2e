import { CpuProvider, deviceKey, parseNpuSmiInfo, type Device } from '../../src/devices/index.js';
import { fixture, GIB } from './fixtures.js';

/** A CPU device as this host reports it. */
export async function cpuDevice(): Promise<Device> {
  return (await new CpuProvider().list())[0];
}

/** Eight NVIDIA cards with distinct UUIDs; two share a prefix to test ambiguity. */
export function nvidiaCards(count = 8): Device[] {
  const uuids = [
    'GPU-5f1c7a2e-0b1d-4c3e-9f00-000000000000',
    'GPU-5f1d8b3f-1c2e-4d4f-8a11-111111111111',
    'GPU-a0b1c2d3-2d3f-4e50-9b22-222222222222',
    'GPU-b1c2d3e4-3e40-4f61-8c33-333333333333',
    'GPU-c2d3e4f5-4f51-4072-9d44-444444444444',
    'GPU-d3e4f506-5062-4183-8e55-555555555555',
    'GPU-e4f50617-6173-4294-9f66-666666666666',
    'GPU-f5061728-7284-43a5-8077-777777777777',
  ];
  return uuids.slice(0, count).map((uuid, index) => ({
    key: deviceKey('nvidia', index),
    vendor: 'nvidia',
    index,
    uuid,
    name: 'NVIDIA H100 80GB HBM3',
    memoryTotal: 80 * GIB,
    visibleId: uuid,
  }));
}

/** The 8-NPU 910B3 host of the npu-smi fixture. */
export function ascend910b(): Device[] {
  return parseNpuSmiInfo(fixture('npu-smi/910b3-8npu-idle.txt')).chips.map((c) => c.device);
}

/** The container given NPUs 0, 3, 4, 7 of the npu-smi fixture. */
export function ascendContainer(): Device[] {
  return parseNpuSmiInfo(fixture('npu-smi/910b4-container-npus-0-3-4-7.txt')).chips.map((c) => c.device);
}

/** Four AMD GPUs, two with unique ids. */
export function amdCards(): Device[] {
  return [0, 1, 2, 3].map((index) => ({
    key: deviceKey('amd', index),
    vendor: 'amd',
    index,
    uuid: `GPU-${String(index).repeat(16)}`,
    name: 'AMD Instinct MI300X',
    memoryTotal: 192 * GIB,
    visibleId: `GPU-${String(index).repeat(16)}`,
  }));
}
