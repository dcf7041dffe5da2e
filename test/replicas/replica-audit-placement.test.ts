// `kind: http` replicas under the same verification as workers: the pool's stray audit judges
// them (a server found on a card it was not given is reported, or killed and restarted on its
// own), and they are placed by `memory.need`, configured or measured and remembered. Real
// servers, real /proc; only the driver's answers are set by the test (FakeNvidiaProvider).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { ModelConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { MeasuredNeedStore, modelFingerprint, Pool, type PoolEvent } from '../../src/pool/index.js';
import { replicaEnv, ReplicaSet, startReplicaSets } from '../../src/replicas/index.js';
import { resolveConfig } from '../../src/config/index.js';
import { RESULT_FORMS, workerEnv } from '../../src/pool/index.js';
import { startServer } from '../../src/serve/index.js';
import { FakeNvidiaProvider } from '../audit/fake-provider.js';
import { GIB } from '../devices/fixtures.js';
import { ROOT, tempDir } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { httpModel, SERVER, waitFor } from './helpers.js';

const leftovers = killAtEnd();

function startSet(model: ModelConfig, provider: FakeNvidiaProvider, events: PoolEvent[], measuredNeeds?: MeasuredNeedStore): Promise<ReplicaSet> {
  return ReplicaSet.start({ model, baseDir: ROOT, logDir: tempDir('gpupool-replicas-'), providers: [provider], stopGraceMs: 2000, measuredNeeds, onEvent: (e) => events.push(e) });
}

/** A pool with no workers of its own, auditing the replicas as `gpupool serve` does. */
function auditingPool(model: ModelConfig, provider: FakeNvidiaProvider, set: ReplicaSet, onStray: 'warn' | 'kill', events: PoolEvent[]): Promise<Pool> {
  return Pool.start({
    config: { models: { [model.name]: model }, baseDir: ROOT },
    models: [],
    logDir: tempDir('gpupool-pool-'),
    sinkFor: () => ({ done: () => undefined, failed: () => undefined }),
    providers: [provider, new CpuProvider()],
    onStray,
    auditEveryMs: 50,
    moreAssignments: () => set.assignments(),
    onEvent: (e) => events.push(e),
  });
}

test('a replica found on a card it was not given is a stray of the pool audit; with kill it is killed and comes back on its own card', async () => {
  const provider = new FakeNvidiaProvider();
  const [card0, card1] = provider.devices;
  const events: PoolEvent[] = [];
  const model = httpModel('echo', { devices: 'all' });
  const set = await startSet(model, provider, events);
  const [first, second] = set.describe().map((r) => r.pid!);
  leftovers.push(first, second);
  // The driver lists replica 0's first process on card 1 (say its framework ignored the
  // pinning); once restarted, its new process sits on card 0 where it belongs.
  provider.listProcesses = () =>
    set.replicas.flatMap((r, i) => {
      if (r.pid === undefined) return [];
      const card = i === 1 || r.pid === first ? card1 : card0;
      return [{ pid: r.pid, deviceUuid: card.uuid, usedMemory: 2 * GIB }];
    });
  const pool = await auditingPool(model, provider, set, 'kill', events);
  try {
    await waitFor('a stray event', () => events.some((e) => e.type === 'stray'));
    const stray = events.find((e) => e.type === 'stray')!;
    assert.ok(stray.type === 'stray');
    assert.deepEqual([stray.stray.kind, stray.stray.worker, stray.stray.deviceKey, stray.stray.given, stray.stray.pids], ['wrong-device', 'echo/cuda:0/0', 'cuda:1', ['cuda:0'], [first]]);
    assert.equal(stray.action, 'killed');
    assert.match(stray.message, new RegExp(`killed PID ${first}$`));
    // The replica set restarts its server; the new process is on its own card and the stray clears.
    await waitFor('the restarted replica', () => set.replicas[0].state === 'ready' && set.replicas[0].pid !== first);
    leftovers.push(set.replicas[0].pid!);
    await waitFor('the stray to clear', () => events.some((e) => e.type === 'stray-cleared'));
    assert.deepEqual(pool.audit?.strays, []);
    assert.equal(set.replicas[1].pid, second, 'the replica on its own card was left alone');
  } finally {
    await pool.close(2000);
    await set.close();
  }
});

test('with --on-stray warn, a replica above memory.limit is reported over budget and left running', async () => {
  const provider = new FakeNvidiaProvider();
  const events: PoolEvent[] = [];
  const model = httpModel('echo', { devices: '1', memory: { limit: '4GiB' } });
  const set = await startSet(model, provider, events);
  const pid = set.replicas[0].pid!;
  leftovers.push(pid);
  provider.listProcesses = () => [{ pid, deviceUuid: provider.devices[1].uuid, usedMemory: 6 * GIB }];
  const pool = await auditingPool(model, provider, set, 'warn', events);
  try {
    await waitFor('a stray event', () => events.some((e) => e.type === 'stray'));
    const stray = events.find((e) => e.type === 'stray')!;
    assert.ok(stray.type === 'stray');
    assert.deepEqual([stray.stray.kind, stray.stray.worker, stray.stray.usedMemory, stray.stray.memoryLimit, stray.action], ['over-budget', 'echo/cuda:1/0', 6 * GIB, 4 * GIB, 'reported']);
    assert.equal(set.replicas[0].pid, pid);
    assert.equal(set.replicas[0].state, 'ready');
  } finally {
    await pool.close(2000);
    await set.close();
  }
});

test('memory.need places replicas only where they fit, and refuses naming each card\'s free memory when none does', async () => {
  const provider = new FakeNvidiaProvider();
  provider.setFree(0, 2 * GIB);
  provider.setFree(1, 100 * GIB);
  const events: PoolEvent[] = [];
  const set = await startSet(httpModel('echo', { devices: 'all', placement: 'spread', memory: { need: '30GiB' } }), provider, events);
  try {
    leftovers.push(...set.replicas.map((r) => r.pid!));
    assert.deepEqual(set.describe().map((r) => [r.id, r.state]), [['echo/cuda:1/0', 'ready']]);
    const skipped = events.find((e) => e.type === 'placement-skipped');
    assert.ok(skipped?.type === 'placement-skipped');
    assert.equal(skipped.device, 'cuda:0');
  } finally {
    await set.close();
  }
  await assert.rejects(
    startSet(httpModel('echo', { devices: 'all', memory: { need: '120GiB' } }), provider, []),
    (e: unknown) =>
      e instanceof GpupoolError &&
      e.code === 'GPUPOOL_E_NO_DEVICE_FITS' &&
      e.message === 'model "echo": no device has room for one worker needing memory.need 120.0 GiB: cuda:0 has 2.00 GiB free, cuda:1 has 100.0 GiB free.',
  );
});

test('without memory.need, what the servers hold is measured, remembered, and places the next start', async () => {
  const store = new MeasuredNeedStore(path.join(tempDir('gpupool-cache-'), 'measured-need.json'));
  const model = httpModel('echo', { devices: 'all' });
  const provider = new FakeNvidiaProvider();
  const events: PoolEvent[] = [];
  const set = await startSet(model, provider, events, store);
  leftovers.push(...set.replicas.map((r) => r.pid!));
  // Each server holds 5 GiB on its own card; the measurement at close sees it.
  provider.listProcesses = () => set.replicas.map((r, i) => ({ pid: r.pid!, deviceUuid: provider.devices[i].uuid, usedMemory: 5 * GIB }));
  await set.close();
  const measured = events.filter((e) => e.type === 'need-measured');
  assert.ok(measured.length > 0, 'a need-measured event');
  assert.match(measured.at(-1)!.message, /^model "echo": a replica held 5\.00 GiB on NVIDIA H200; remembered in .*measured-need\.json for placing the next start$/);
  assert.deepEqual(new MeasuredNeedStore(store.file).get(modelFingerprint(model, ROOT), 'NVIDIA H200')?.bytes, 5 * GIB);

  // The next start, with card 0 nearly full: 5 GiB + 10% fits only on card 1.
  const second = new FakeNvidiaProvider();
  second.setFree(0, 2 * GIB);
  second.setFree(1, 100 * GIB);
  const events2: PoolEvent[] = [];
  const set2 = await startSet(model, second, events2, new MeasuredNeedStore(store.file));
  try {
    leftovers.push(...set2.replicas.map((r) => r.pid!));
    assert.deepEqual(set2.describe().map((r) => r.id), ['echo/cuda:1/0']);
    const used = events2.find((e) => e.type === 'memory-need');
    assert.ok(used?.type === 'memory-need');
    assert.equal(used.need, Math.ceil(5 * GIB * 1.1));
  } finally {
    await set2.close();
  }
});

test('gpupool serve audits its replicas: a stray replica is an event and in the recent errors', async (t) => {
  const provider = new FakeNvidiaProvider();
  const events: PoolEvent[] = [];
  const model = httpModel('web', { devices: 'all' });
  const cacheBefore = process.env.GPUPOOL_CACHE_DIR;
  process.env.GPUPOOL_CACHE_DIR = tempDir('gpupool-cache-'); // what the replicas hold is remembered there, not in ~/.cache
  t.after(() => {
    if (cacheBefore === undefined) delete process.env.GPUPOOL_CACHE_DIR;
    else process.env.GPUPOOL_CACHE_DIR = cacheBefore;
  });
  const server = await startServer({
    config: { models: { web: model }, baseDir: ROOT },
    port: 0,
    stateDir: tempDir('gpupool-state-'),
    providers: [provider, new CpuProvider()],
    onEvent: (e) => events.push(e),
  });
  try {
    await server.ready;
    const replicas = server.core.httpModels!.replicas();
    leftovers.push(...replicas.map((r) => r.pid!));
    // Both servers listed on card 0: the one given card 1 is a stray.
    provider.listProcesses = () => replicas.map((r) => ({ pid: r.pid!, deviceUuid: provider.devices[0].uuid, usedMemory: GIB }));
    await waitFor('a stray event', () => events.some((e) => e.type === 'stray'));
    const stray = events.find((e) => e.type === 'stray')!;
    assert.ok(stray.type === 'stray');
    assert.deepEqual([stray.stray.worker, stray.stray.deviceKey, stray.action], ['web/cuda:1/0', 'cuda:0', 'reported']);
    assert.ok(server.core.errors.list().some((e) => e.source === 'web/cuda:1/0' && /stray/.test(e.code)), JSON.stringify(server.core.errors.list()));
  } finally {
    await server.close();
  }
});

test('models started together take their memory.need in turn from one reading of free memory', async () => {
  const provider = new FakeNvidiaProvider();
  provider.setFree(0, 40 * GIB);
  provider.setFree(1, 2 * GIB);
  const server = ['python3', SERVER, '--port', '{port}'];
  const config = resolveConfig({ models: { a: { kind: 'http', command: server, devices: 'all', memory: { need: '30GiB' } }, b: { kind: 'http', command: server, devices: 'all', memory: { need: '30GiB' } } } }, ROOT);
  // 40 GiB free on card 0 holds one 30 GiB replica, not two: the second model is refused, naming what is left.
  await assert.rejects(
    startReplicaSets(config, { logDir: tempDir('gpupool-replicas-'), providers: [provider], stopGraceMs: 2000 }),
    (e: unknown) => e instanceof GpupoolError && e.code === 'GPUPOOL_E_NO_DEVICE_FITS' && /^model "[ab]": no device has room for one worker needing memory\.need 30\.0 GiB: cuda:0 has 10\.0 GiB free, cuda:1 has 2\.00 GiB free\.$/.test(e.message),
  );
});

test('replicas and workers carry what the audit reads back from /proc: whose pool, the memory budget, the answer forms', () => {
  const model = httpModel('echo', { memory: { limit: '4GiB' } });
  const device = new FakeNvidiaProvider().devices[1];
  const env = replicaEnv(model, [device], 'echo/cuda:1/0', 8101, {});
  assert.equal(env.GPUPOOL_POOL_PID, String(process.pid));
  assert.equal(env.GPUPOOL_MEMORY_LIMIT, String(4 * GIB));
  assert.equal(env.GPUPOOL_WORKER_ID, 'echo/cuda:1/0');
  assert.equal(env.CUDA_VISIBLE_DEVICES, device.uuid);
  const worker = workerEnv(resolveConfig({ models: { m: { command: ['python3', 'w.py'] } } }, ROOT).models.m, [device], 'm/cuda:1/0', undefined, {});
  assert.equal(worker.GPUPOOL_RESULT_FORMS, RESULT_FORMS);
  assert.deepEqual(RESULT_FORMS.split(','), ['result_lines', 'result_array']);
});
