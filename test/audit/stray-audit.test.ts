import { test } from 'node:test';
import assert from 'node:assert/strict';
import { killStray, StrayAudit, type AuditEvent, type AuditSample, type WorkerAssignment } from '../../src/audit/index.js';
import { GIB } from '../devices/fixtures.js';
import { isAlive, killAtEnd } from '../helpers/processes.js';
import { FakeNvidiaProvider } from './fake-provider.js';
import { startTenant, startWorkerTree } from './process-tree.js';

const started = killAtEnd();

function audited(provider: FakeNvidiaProvider, assignments: WorkerAssignment[], onStray: 'warn' | 'kill') {
  const events: AuditEvent[] = [];
  const samples: AuditSample[] = [];
  const audit = new StrayAudit({ providers: [provider], assignments: () => assignments, onStray, onEvent: (e) => events.push(e), onSample: (s) => samples.push(s) });
  return { audit, events, samples };
}

test('kill: a real child on a card its worker was not given is killed; its worker is left alone; then the stray is cleared', async () => {
  const tree = await startWorkerTree('ocr/cuda:1/0', started);
  const provider = new FakeNvidiaProvider();
  const [card0, card1] = provider.devices;
  provider.listProcesses = () => [
    { pid: tree.workerPid, deviceUuid: card1.uuid, usedMemory: 2 * GIB },
    { pid: tree.childPid, deviceUuid: card0.uuid, usedMemory: GIB },
  ];
  const { audit, events, samples } = audited(provider, [{ worker: 'ocr/cuda:1/0', model: 'ocr', pid: tree.workerPid, deviceKeys: ['cuda:1'] }], 'kill');
  await audit.tick();
  assert.equal(events.length, 1);
  const [e] = events;
  assert.ok(e.type === 'stray' && e.action === 'killed', JSON.stringify(e));
  assert.equal(e.message, `stray: a child of worker ocr/cuda:1/0 (PID ${tree.childPid}, the worker is PID ${tree.workerPid}) holds 1.00 GiB on cuda:0, a device it was not given (it was given cuda:1); killed PID ${tree.childPid}`);
  // The worker was waiting for its child: it returns normally once the child is dead, unkilled itself.
  assert.deepEqual(await tree.exited, { code: 0, signal: null });
  assert.equal(isAlive(tree.childPid), false);
  assert.equal(audit.strays.length, 1);
  // The recorded sample holds the /proc facts the decision was made on.
  const child = samples[0].facts.find((f) => f.pid === tree.childPid)!;
  assert.equal(child.ppid, tree.workerPid);
  assert.equal(child.worker, undefined, 'the child reset its environment');
  assert.equal(samples[0].facts.find((f) => f.pid === tree.workerPid)!.worker, 'ocr/cuda:1/0');

  provider.listProcesses = () => [];
  await audit.tick();
  assert.deepEqual(events.slice(1).map((x) => [x.type, x.message]), [['stray-cleared', 'stray gone: ocr/cuda:1/0 on cuda:0']]);
  assert.deepEqual(audit.strays, []);
});

test('warn: a stray is reported once while it lasts, keeps its first-seen time, and is not killed; tenants are listed with their memory', async () => {
  const tree = await startWorkerTree('ocr/cuda:1/0', started);
  const tenant = startTenant(started);
  const provider = new FakeNvidiaProvider();
  const [card0, card1] = provider.devices;
  provider.listProcesses = () => [
    { pid: tree.childPid, deviceUuid: card0.uuid, usedMemory: GIB },
    { pid: tenant, deviceUuid: card1.uuid, usedMemory: 40 * GIB },
  ];
  const { audit, events } = audited(provider, [{ worker: 'ocr/cuda:1/0', pid: tree.workerPid, deviceKeys: ['cuda:1'] }], 'warn');
  await audit.tick();
  const since = audit.strays[0].since;
  await new Promise((r) => setTimeout(r, 20));
  await audit.tick();
  assert.deepEqual(events.map((e) => e.type === 'stray' && e.action), ['reported']);
  assert.equal(audit.strays.length, 1);
  assert.equal(audit.strays[0].since, since);
  assert.ok(audit.checkedAt! > since);
  assert.ok(isAlive(tree.childPid));
  assert.deepEqual(audit.tenants, [{ pid: tenant, deviceKey: 'cuda:1', deviceUuid: card1.uuid, usedMemory: 40 * GIB }]);
});

test('start/stop: checks on its own every `everyMs` until stopped', async () => {
  const provider = new FakeNvidiaProvider();
  const audit = new StrayAudit({ providers: [provider], assignments: () => [], everyMs: 10 });
  audit.start();
  while (provider.processCalls < 3) await new Promise((r) => setTimeout(r, 5));
  await audit.stop();
  const calls = provider.processCalls;
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(provider.processCalls, calls);
});

test('a PID that now belongs to another process is never killed', async () => {
  const tree = await startWorkerTree('ocr/cuda:1/0', started);
  const stray = {
    id: 'wrong-device ocr/cuda:1/0 cuda:0',
    kind: 'wrong-device' as const,
    worker: 'ocr/cuda:1/0',
    deviceKey: 'cuda:0',
    deviceUuid: 'GPU-x',
    given: ['cuda:1'],
    pids: [tree.childPid, 2 ** 22 + 17],
    children: [tree.childPid],
    usedMemory: GIB,
    since: 0,
    message: '',
    remedy: '',
  };
  // The audit saw the PID with another start time: the process it meant has exited and the number was reused.
  const outcome = await killStray(stray, [{ pid: tree.childPid, startTime: 1 }]);
  assert.deepEqual(outcome, {
    killed: [],
    spared: [
      { pid: tree.childPid, reason: 'PID now belongs to another process' },
      { pid: 2 ** 22 + 17, reason: 'already gone' },
    ],
  });
  assert.ok(isAlive(tree.childPid));
});

test('a check that fails (a driver error, a recorder that throws) is kept in lastError, never thrown; the next check runs', async () => {
  const provider = new FakeNvidiaProvider();
  provider.listProcesses = () => {
    throw new Error('NVML_ERROR_GPU_IS_LOST');
  };
  let throwing = true;
  const audit = new StrayAudit({
    providers: [provider],
    assignments: () => [],
    onSample: () => {
      if (throwing) throw new Error('ENOSPC: no space left on device');
    },
  });
  await audit.tick();
  assert.equal(audit.lastError, 'ENOSPC: no space left on device');
  throwing = false;
  await audit.tick();
  assert.equal(audit.lastError, 'fake-nvml: NVML_ERROR_GPU_IS_LOST');
  assert.ok(audit.checkedAt);
});
