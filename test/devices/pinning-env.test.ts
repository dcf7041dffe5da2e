import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GpupoolError } from '../../src/errors/index.js';
import { parseNvidiaSmiGpus, parseRocmSmiJson, pinningEnv } from '../../src/devices/index.js';
import { fixture } from './fixtures.js';
import { amdCards, ascendContainer, cpuDevice, nvidiaCards } from './host-devices.js';

test('NVIDIA: UUIDs in PCI bus order, whatever CUDA would enumerate', () => {
  const [card0, card1] = parseNvidiaSmiGpus(fixture('nvidia-smi/h200x2-idle-gpus.csv')).devices;
  assert.deepEqual(pinningEnv([card1]), {
    CUDA_VISIBLE_DEVICES: 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57',
    CUDA_DEVICE_ORDER: 'PCI_BUS_ID',
    GPUPOOL_DEVICE_KIND: 'cuda',
    GPUPOOL_DEVICE_IDS: '1',
    GPUPOOL_DEVICE_UUIDS: 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57',
  });
  assert.equal(
    pinningEnv([card0, card1]).CUDA_VISIBLE_DEVICES,
    'GPU-7cb87390-070c-caf7-0085-ee35d0beed8d,GPU-aba85625-a4c1-3e15-29ac-adba2f481c57',
  );
  assert.equal(pinningEnv(nvidiaCards().slice(6)).GPUPOOL_DEVICE_IDS, '6,7');
});

test('Ascend: the runtime logical id, which inside a container is not the NPU id', () => {
  const [, npu3, npu4, npu7] = ascendContainer();
  assert.deepEqual(pinningEnv([npu7]), {
    ASCEND_RT_VISIBLE_DEVICES: '3',
    GPUPOOL_DEVICE_KIND: 'npu',
    GPUPOOL_DEVICE_IDS: '7',
    GPUPOOL_DEVICE_UUIDS: 'NPU-0000:42:00.0',
  });
  assert.equal(pinningEnv([npu3, npu4]).ASCEND_RT_VISIBLE_DEVICES, '1,2');
});

test('AMD: ROCr by unique id, HIP and CUDA ordinals within it; index where no unique id', () => {
  const [, , gpu2, gpu3] = amdCards();
  assert.deepEqual(pinningEnv([gpu2, gpu3]), {
    ROCR_VISIBLE_DEVICES: 'GPU-2222222222222222,GPU-3333333333333333',
    HIP_VISIBLE_DEVICES: '0,1',
    CUDA_VISIBLE_DEVICES: '0,1',
    GPUPOOL_DEVICE_KIND: 'rocm',
    GPUPOOL_DEVICE_IDS: '2,3',
    GPUPOOL_DEVICE_UUIDS: 'GPU-2222222222222222,GPU-3333333333333333',
  });
  const [radeon] = parseRocmSmiJson(fixture('rocm-smi/rx7900xt-showproductname-showuse-showmeminfo.json')).devices;
  assert.equal(pinningEnv([radeon]).ROCR_VISIBLE_DEVICES, '0');
});

test('CPU: every accelerator hidden', async () => {
  assert.deepEqual(pinningEnv([await cpuDevice()]), {
    CUDA_VISIBLE_DEVICES: '',
    ASCEND_RT_VISIBLE_DEVICES: '',
    HIP_VISIBLE_DEVICES: '',
    ROCR_VISIBLE_DEVICES: '',
    GPUPOOL_DEVICE_KIND: 'cpu',
    GPUPOOL_DEVICE_IDS: '0',
    GPUPOOL_DEVICE_UUIDS: 'cpu',
  });
});

test('no devices, or devices of two vendors, are refused', () => {
  assert.throws(() => pinningEnv([]), (e: unknown) => e instanceof GpupoolError && e.code === 'GPUPOOL_E_INTERNAL');
  assert.throws(
    () => pinningEnv([nvidiaCards(1)[0], amdCards()[0]]),
    (e: unknown) => e instanceof GpupoolError && e.message.includes('cuda:0, rocm:0'),
  );
});
