import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignmentsFromFacts, findStrays, type WorkerAssignment } from '../../src/audit/index.js';
import { GIB, MIB } from '../devices/fixtures.js';
import { GPUPOOL_AND_ABOVE, h200Sample, npuSample, POOL_PID, workerFacts } from './recorded-samples.js';

/** The pool's view: resnet/cuda:0/0 is PID 569, resnet/cuda:1/0 is PID 570. */
const RESNET: WorkerAssignment[] = [
  { worker: 'resnet/cuda:0/0', model: 'resnet', pid: 569, deviceKeys: ['cuda:0'] },
  { worker: 'resnet/cuda:1/0', model: 'resnet', pid: 570, deviceKeys: ['cuda:1'] },
];

/** 571 and 572 on cuda:1 belong to someone else: a user's shell started them. */
const OTHERS = [
  { pid: 571, ppid: 300, startTime: 571 },
  { pid: 572, ppid: 300, startTime: 572 },
  { pid: 300, ppid: 1, startTime: 300 },
];

test('a child started with its visibility variable reset, on a card its worker was not given, is a stray: found through its parent chain', () => {
  // 574 cleared its environment (no GPUPOOL_WORKER_ID); its parent is worker 570, pinned to cuda:1.
  const sample = h200Sample([...GPUPOOL_AND_ABOVE, workerFacts(569, 'resnet/cuda:0/0'), workerFacts(570, 'resnet/cuda:1/0'), { pid: 574, ppid: 570, startTime: 574 }, ...OTHERS]);
  const { strays, ours } = findStrays(sample, RESNET, { poolPid: POOL_PID });
  assert.equal(strays.length, 1);
  const [s] = strays;
  assert.equal(s.id, 'wrong-device resnet/cuda:1/0 cuda:0');
  assert.equal(s.kind, 'wrong-device');
  assert.deepEqual([s.worker, s.workerPid, s.deviceKey, s.given, s.pids, s.children], ['resnet/cuda:1/0', 570, 'cuda:0', ['cuda:1'], [574], [574]]);
  assert.equal(s.usedMemory, 1018 * MIB);
  assert.equal(s.since, sample.at);
  assert.equal(s.message, 'stray: a child of worker resnet/cuda:1/0 (PID 574, the worker is PID 570) holds 1018.0 MiB on cuda:0, a device it was not given (it was given cuda:1)');
  assert.match(s.remedy, /CUDA_VISIBLE_DEVICES reset or changed/);
  assert.match(s.remedy, /--on-stray kill/);
  // The workers on their own cards are ours and fine.
  assert.deepEqual(ours.map((o) => [o.pid, o.worker, o.child]), [
    [574, 'resnet/cuda:1/0', true],
    [569, 'resnet/cuda:0/0', false],
    [570, 'resnet/cuda:1/0', false],
  ]);
});

test('a child found by the GPUPOOL_WORKER_ID it inherited, though its parent chain is cut (it outlived its worker)', () => {
  // 574 was reparented to init when its parent exited; the worker id in its environment still names it.
  const sample = h200Sample([...GPUPOOL_AND_ABOVE, workerFacts(570, 'resnet/cuda:1/0'), workerFacts(574, 'resnet/cuda:1/0', { ppid: 1 }), ...OTHERS]);
  const [s] = findStrays(sample, RESNET, { poolPid: POOL_PID }).strays;
  assert.deepEqual([s.kind, s.deviceKey, s.pids, s.children], ['wrong-device', 'cuda:0', [574], [574]]);
});

test('a worker itself on a card it was not given: the remedy points at its own code', () => {
  // The pool believes resnet/cuda:0/0 is PID 570; the driver finds 570 on cuda:1 and 569 on cuda:0.
  const swapped: WorkerAssignment[] = [
    { worker: 'resnet/cuda:0/0', pid: 570, deviceKeys: ['cuda:0'] },
    { worker: 'resnet/cuda:1/0', pid: 569, deviceKeys: ['cuda:1'] },
  ];
  const sample = h200Sample([...GPUPOOL_AND_ABOVE, workerFacts(570, 'resnet/cuda:0/0'), workerFacts(569, 'resnet/cuda:1/0'), { pid: 574, ppid: 569, startTime: 574 }, ...OTHERS]);
  const { strays } = findStrays(sample, swapped, { poolPid: POOL_PID });
  assert.deepEqual(strays.map((s) => [s.worker, s.deviceKey, s.pids, s.children]), [
    ['resnet/cuda:0/0', 'cuda:1', [570], []],
    ['resnet/cuda:1/0', 'cuda:0', [574, 569], [574]],
  ]);
  assert.equal(strays[0].message, 'stray: worker resnet/cuda:0/0 (PID 570) holds 5.39 GiB on cuda:1, a device it was not given (it was given cuda:0)');
  assert.match(strays[0].remedy, /changes CUDA_VISIBLE_DEVICES or picks a card by number/);
});

test('over budget: a worker and its children together above memory.limit; at or under it is fine', () => {
  // 571 and 572 are children of worker 570 (they kept its environment), all on cuda:1: 5518 + 1518 + 1218 MiB.
  const facts = [...GPUPOOL_AND_ABOVE, workerFacts(569, 'resnet/cuda:0/0'), workerFacts(570, 'resnet/cuda:1/0'), workerFacts(571, 'resnet/cuda:1/0', { ppid: 570 }), workerFacts(572, 'resnet/cuda:1/0', { ppid: 571 }), { pid: 574, ppid: 1, startTime: 574 }];
  const limited = (limit: number): WorkerAssignment[] => RESNET.map((a) => ({ ...a, memoryLimit: limit }));
  const total = (5518 + 1518 + 1218) * MIB;
  const over = findStrays(h200Sample(facts), limited(6 * GIB), { poolPid: POOL_PID }).strays;
  assert.deepEqual(over.map((s) => [s.id, s.pids, s.children, s.usedMemory, s.memoryLimit]), [['over-budget resnet/cuda:1/0 cuda:1', [570, 572, 571], [572, 571], total, 6 * GIB]]);
  assert.equal(over[0].message, 'stray: worker resnet/cuda:1/0 and its children hold 8.06 GiB on cuda:1 (PIDs 570, 572, 571), above its memory.limit of 6.00 GiB');
  assert.match(over[0].remedy, /memory.limit/);
  assert.deepEqual(findStrays(h200Sample(facts), limited(total), { poolPid: POOL_PID }).strays, []);
  assert.deepEqual(findStrays(h200Sample(facts), RESNET, { poolPid: POOL_PID }).strays, [], 'no memory.limit, no budget to exceed');
});

test('tenants: other users\' processes and another gpupool\'s workers, with the memory they hold; never strays', () => {
  const facts = [
    ...GPUPOOL_AND_ABOVE,
    workerFacts(569, 'resnet/cuda:0/0'),
    workerFacts(570, 'resnet/cuda:1/0'),
    // Another gpupool (PID 777) runs a worker with the same id on cuda:0: its id names cuda:0 but it is not ours.
    workerFacts(574, 'resnet/cuda:1/0', { ppid: 777, poolPid: 777 }),
    { pid: 777, ppid: 1, startTime: 777 },
    ...OTHERS,
  ];
  const { strays, tenants } = findStrays(h200Sample(facts), RESNET, { poolPid: POOL_PID });
  assert.deepEqual(strays, []);
  assert.deepEqual(tenants, [
    { pid: 574, deviceKey: 'cuda:0', deviceUuid: 'GPU-7cb87390-070c-caf7-0085-ee35d0beed8d', usedMemory: 1018 * MIB, worker: 'resnet/cuda:1/0' },
    { pid: 572, deviceKey: 'cuda:1', deviceUuid: 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57', usedMemory: 1218 * MIB },
    { pid: 571, deviceKey: 'cuda:1', deviceUuid: 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57', usedMemory: 1518 * MIB },
  ]);
  // A process /proc cannot show (another PID namespace: drivers report host PIDs) is a tenant too.
  assert.equal(findStrays(h200Sample([]), RESNET, { poolPid: POOL_PID }).tenants.length, 3, 'only the workers\' own PIDs are recognised without /proc');
});

test('a CPU worker found on an accelerator is a stray', () => {
  const cpuWorker: WorkerAssignment[] = [{ worker: 'emb/cpu:0/0', pid: 569, deviceKeys: ['cpu:0'] }];
  const [s] = findStrays(h200Sample([...GPUPOOL_AND_ABOVE, workerFacts(569, 'emb/cpu:0/0')]), cpuWorker, { poolPid: POOL_PID }).strays;
  assert.equal(s.message, 'stray: worker emb/cpu:0/0 (PID 569) holds 3.44 GiB on cuda:0, a device it was not given (it was given the CPU only)');
});

test('Ascend: a worker given npu:1 found on npu:0 (npu-smi\'s process table); the remedy names ASCEND_RT_VISIBLE_DEVICES', () => {
  const assignments: WorkerAssignment[] = [{ worker: 'llm/npu:1/0', pid: 124528, deviceKeys: ['npu:1'] }];
  const [s] = findStrays(npuSample([workerFacts(124528, 'llm/npu:1/0')]), assignments, { poolPid: POOL_PID }).strays;
  assert.deepEqual([s.deviceKey, s.usedMemory], ['npu:0', 17400 * MIB]);
  assert.match(s.remedy, /ASCEND_RT_VISIBLE_DEVICES/);
});

test('from outside a pool: workers are read from their environment, any pool\'s workers judged', () => {
  // gpupool devices sees two pools: PID 500's worker 570 with a child 574 on the wrong card, and PID 777's worker 569.
  const facts = [
    ...GPUPOOL_AND_ABOVE,
    workerFacts(569, 'emb/cuda:0/0', { ppid: 777, poolPid: 777, memoryLimit: 2 * GIB }),
    { pid: 777, ppid: 1, startTime: 777 },
    workerFacts(570, 'resnet/cuda:1/0'),
    workerFacts(574, 'resnet/cuda:1/0', { ppid: 570 }),
    workerFacts(571, 'free-form-id', { ppid: 300 }),
    { pid: 300, ppid: 1, startTime: 300 },
  ];
  const assignments = assignmentsFromFacts(facts);
  assert.deepEqual(assignments, [
    { worker: 'emb/cuda:0/0', model: 'emb', pid: 569, deviceKeys: ['cuda:0'], memoryLimit: 2 * GIB },
    { worker: 'resnet/cuda:1/0', model: 'resnet', pid: 570, deviceKeys: ['cuda:1'] },
  ]);
  const { strays, tenants } = findStrays(h200Sample(facts), assignments);
  assert.deepEqual(strays.map((s) => s.id), ['over-budget emb/cuda:0/0 cuda:0', 'wrong-device resnet/cuda:1/0 cuda:0']);
  assert.deepEqual(tenants.map((t) => [t.pid, t.worker]), [[572, undefined], [571, 'free-form-id']]);
});
