import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type GpupoolConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { runDoctor } from '../../src/doctor/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { cacheDir, MeasuredNeedStore, modelFingerprint, Pool, type PoolEvent } from '../../src/pool/index.js';
import { newWorkItem, type ItemSink } from '../../src/scheduler/index.js';
import { FakeNvidiaProvider } from '../audit/fake-provider.js';
import { PY_FIXTURES, tempDir } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { until } from '../helpers/until.js';
import { fakeEnv, fakeTools } from './fake-tools.js';
import { GIB } from './fixtures.js';

const started = killAtEnd();
const SPAWNING = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'audit', 'workers', 'spawning_worker.py');
const NO_SINK: ItemSink = { done: () => undefined, failed: () => undefined };
const H200 = 'NVIDIA H200';

/** A model whose real worker starts a real child process (both hold "device memory" in the fake driver's answer). */
const NOOP = ['python3', path.join(PY_FIXTURES, 'noop_worker.py')];

/** A model whose worker has no child. */
function noopConfig(dir: string, memory: Record<string, string> = {}): GpupoolConfig {
  return resolveConfig({ models: { m: { command: NOOP, devices: 'all', memory } } }, dir);
}

function spawnerConfig(dir: string, devices: string, memory: Record<string, string> = {}): GpupoolConfig {
  return resolveConfig({ models: { m: { command: ['python3', SPAWNING], devices, env: { CHILD_PID_FILE: path.join(dir, 'child.pid') }, memory } } }, dir);
}

/** The worker's child sleeps and holds the worker's output pipes: the drain would wait for it. */
function killChild(dir: string): void {
  const child = childPid(dir);
  if (child === undefined) return;
  try {
    process.kill(child, 'SIGKILL');
  } catch {
    // already gone
  }
  fs.rmSync(path.join(dir, 'child.pid'));
}

function childPid(dir: string): number | undefined {
  const file = path.join(dir, 'child.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8')) : undefined;
}

function startPool(config: GpupoolConfig, provider: FakeNvidiaProvider, store: MeasuredNeedStore, events: PoolEvent[]): Promise<Pool> {
  return Pool.start({ config, logDir: path.join(config.baseDir, 'logs'), sinkFor: () => NO_SINK, providers: [provider, new CpuProvider()], measuredNeeds: store, onEvent: (e) => events.push(e) });
}

function readFile(store: MeasuredNeedStore): { needs: { model: string; fingerprint: string; device: string; bytes: number }[] } {
  return JSON.parse(fs.readFileSync(store.file, 'utf8')) as { needs: { model: string; fingerprint: string; device: string; bytes: number }[] };
}

test('first start measures the worker and its child on their card, keeps the peak of ready and first batches; the second start places by it (+10%) and skips the card without room, naming the remembered need', async () => {
  const dir = tempDir('gpupool-measured-');
  const store = new MeasuredNeedStore(path.join(dir, 'cache', 'measured-need.json'));
  const provider = new FakeNvidiaProvider();
  const card1 = provider.devices[1];
  let workerGiB = 2;
  // What the driver lists: the real worker on its card, and its real child there with 1 GiB
  // (the worker found as the child's parent: the first reading comes before Pool.start returns).
  provider.listProcesses = () => {
    const child = childPid(dir);
    const worker = child === undefined ? undefined : Number(fs.readFileSync(`/proc/${child}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
    return [
      ...(worker ? [{ pid: worker, deviceUuid: card1.uuid, usedMemory: workerGiB * GIB }] : []),
      ...(child ? [{ pid: child, deviceUuid: card1.uuid, usedMemory: GIB }] : []),
    ];
  };
  const events: PoolEvent[] = [];
  const measured = (): Extract<PoolEvent, { type: 'need-measured' }>[] => events.filter((e): e is Extract<PoolEvent, { type: 'need-measured' }> => e.type === 'need-measured');
  const config = spawnerConfig(dir, 'cuda:1');
  const pool = await startPool(config, provider, store, events);
  try {
    started.push(await until('the child PID', () => childPid(dir)));
    await until('the ready measurement (worker and child)', () => measured().some((e) => e.bytes === 3 * GIB));
    workerGiB = 6; // the first batches grow the worker's cache
    const scheduler = pool.scheduler('m');
    scheduler.push(newWorkItem(0, 0, '{"x":1}'));
    scheduler.endInput();
    await scheduler.whenIdle();
    await until('the measurement after the first batch', () => measured().some((e) => e.bytes === 7 * GIB));
    workerGiB = 1; // the drain's measurement sees less: the peak stays
  } finally {
    const child = childPid(dir);
    if (child !== undefined) started.push(child);
    // The drain measures once more, then the child goes: it holds the worker's pipes.
    const closing = pool.close(5000);
    setTimeout(() => killChild(dir), 500);
    await closing;
  }
  assert.deepEqual(readFile(store).needs.map((n) => [n.model, n.fingerprint, n.device, n.bytes]), [['m', modelFingerprint(config.models.m, dir), H200, 7 * GIB]]);
  assert.deepEqual(measured().map((e) => [e.device, e.bytes / GIB]).at(-1), [H200, 7]);
  assert.match(measured()[1].message, /^model "m": a worker held 7\.00 GiB on NVIDIA H200; remembered in .*measured-need\.json for placing the next start$/);

  // The second start, on every card: card 0 has 2 GiB free, card 1 plenty. 7 GiB + 10% = 7.70 GiB.
  const second = new FakeNvidiaProvider();
  second.setFree(0, 2 * GIB);
  second.setFree(1, 100 * GIB);
  const events2: PoolEvent[] = [];
  const everywhere = spawnerConfig(dir, 'all');
  const pool2 = await startPool(everywhere, second, new MeasuredNeedStore(store.file), events2);
  try {
    assert.deepEqual(pool2.workers.map((w) => w.id), ['m/cuda:1/0']);
    const used = events2.find((e) => e.type === 'memory-need');
    assert.ok(used?.type === 'memory-need');
    assert.equal(used.need, Math.ceil(7 * GIB * 1.1));
    assert.match(used.message, /^model "m" has no memory.need: placing by 7\.70 GiB \(remembered: 7\.00 GiB measured on NVIDIA H200 at \S+, \+10%, from .*measured-need\.json\)$/);
    const skipped = events2.find((e) => e.type === 'placement-skipped');
    assert.ok(skipped?.type === 'placement-skipped');
    assert.match(skipped.message, /^no room on cuda:0 for a worker of "m" \(memory\.need 7\.70 GiB \(remembered: 7\.00 GiB measured on NVIDIA H200 at .*\)\): cuda:0 has 2\.00 GiB free$/);
  } finally {
    await until('the second child', () => childPid(dir));
    killChild(dir);
    await pool2.close(5000);
  }

  // No card with room: refused before any worker starts, naming the remembered need and each card's free memory.
  const full = new FakeNvidiaProvider();
  full.setFree(0, 2 * GIB);
  full.setFree(1, 3 * GIB);
  await assert.rejects(startPool(everywhere, full, new MeasuredNeedStore(store.file), []), (e: unknown) =>
    e instanceof GpupoolError &&
    e.code === 'GPUPOOL_E_NO_DEVICE_FITS' &&
    /^model "m": no device has room for one worker needing memory\.need 7\.70 GiB \(remembered: 7\.00 GiB measured on NVIDIA H200 .*\): cuda:0 has 2\.00 GiB free, cuda:1 has 3\.00 GiB free\.$/.test(e.message));
});

test('after a worker of the model ran out of device memory, what its workers hold is not remembered: the need stays the peak that fitted', async () => {
  const dir = tempDir('gpupool-measured-oom-');
  const store = new MeasuredNeedStore(path.join(dir, 'cache', 'measured-need.json'));
  const provider = new FakeNvidiaProvider();
  const card1 = provider.devices[1];
  let workerGiB = 2;
  // The worker is found as this process's child running the fixture: the first reading comes before Pool.start returns.
  const workerPid = (): number | undefined =>
    fs
      .readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number)
      .find((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(process.pid) && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('oom_worker.py');
        } catch {
          return false;
        }
      });
  provider.listProcesses = () => {
    const pid = workerPid();
    return pid === undefined ? [] : [{ pid, deviceUuid: card1.uuid, usedMemory: workerGiB * GIB }];
  };
  const events: PoolEvent[] = [];
  const measured = () => events.filter((e): e is Extract<PoolEvent, { type: 'need-measured' }> => e.type === 'need-measured');
  const config = resolveConfig({ models: { m: { command: ['python3', path.join(PY_FIXTURES, 'oom_worker.py')], devices: 'cuda:1', env: { OOM_COST_LIMIT: '1' }, max_attempts: 1 } } }, dir);
  const failed: string[] = [];
  const pool = await Pool.start({ config, logDir: path.join(dir, 'logs'), sinkFor: () => ({ done: () => undefined, failed: (_item, err) => void failed.push(err.code) }), providers: [provider, new CpuProvider()], measuredNeeds: store, onEvent: (e) => events.push(e) });
  try {
    started.push(pool.workers[0].supervisor.pid!);
    await until('the ready measurement', () => measured().some((e) => e.bytes === 2 * GIB));
    const scheduler = pool.scheduler('m');
    // One item too large for the card: it fails as out of memory, and the worker now holds all the card had.
    workerGiB = 60;
    scheduler.push(newWorkItem(0, 0, '{"cost":5}'));
    await until('the item failed', () => failed.length === 1);
    for (let i = 1; i <= 8; i++) scheduler.push(newWorkItem(i, i, '{"x":1}'));
    scheduler.endInput();
    await scheduler.whenIdle();
  } finally {
    await pool.close(5000);
  }
  assert.deepEqual(failed, ['GPUPOOL_E_OUT_OF_MEMORY']);
  assert.deepEqual(readFile(store).needs.map((n) => n.bytes / GIB), [2], 'the batches after it and the drain measured 60 GiB, not kept');
  assert.deepEqual(measured().map((e) => e.bytes / GIB), [2]);
});

/** A store holding 7 GiB for model `m` of `config` on an H200. */
function seeded(config: GpupoolConfig, contents?: string): MeasuredNeedStore {
  const store = new MeasuredNeedStore(path.join(config.baseDir, 'cache', 'measured-need.json'), () => undefined);
  fs.mkdirSync(path.dirname(store.file), { recursive: true });
  const need = { model: 'm', fingerprint: modelFingerprint(config.models.m, config.baseDir), device: H200, bytes: 7 * GIB, measuredAt: '2025-01-01T00:00:00.000Z' };
  fs.writeFileSync(store.file, contents ?? JSON.stringify({ version: 1, needs: [need] }));
  return store;
}

test('a configured memory.need wins over the remembered one: 1 GiB fits on the card with 2 GiB free', async () => {
  const dir = tempDir('gpupool-measured-');
  const config = noopConfig(dir, { need: '1GiB' });
  const store = seeded(noopConfig(dir));
  const provider = new FakeNvidiaProvider();
  provider.setFree(0, 2 * GIB);
  provider.setFree(1, 100 * GIB);
  const events: PoolEvent[] = [];
  const pool = await startPool(config, provider, store, events);
  try {
    assert.deepEqual(pool.workers.map((w) => w.id), ['m/cuda:0/0', 'm/cuda:1/0']);
    assert.deepEqual(events.filter((e) => e.type === 'memory-need' || e.type === 'placement-skipped'), []);
  } finally {
    await pool.close(5000);
  }
});

test('a corrupt measured-need file is ignored with a warning naming it: the pool starts unplaced, and the next measurement replaces the file', async () => {
  const dir = tempDir('gpupool-measured-');
  const config = noopConfig(dir);
  const warnings: string[] = [];
  const store = new MeasuredNeedStore(seeded(config, '{"version": 1, "needs": [{"model": "m", "bytes": "lots"').file, (m) => warnings.push(m));
  const provider = new FakeNvidiaProvider();
  provider.setFree(0, 2 * GIB);
  const running: { pool?: Pool } = {};
  provider.listProcesses = () => (running.pool ? [{ pid: running.pool.workers[0].supervisor.pid!, deviceUuid: provider.devices[0].uuid, usedMemory: GIB }] : []);
  const events: PoolEvent[] = [];
  const pool = (running.pool = await startPool(config, provider, store, events));
  try {
    assert.deepEqual(pool.workers.map((w) => w.id), ['m/cuda:0/0', 'm/cuda:1/0'], 'no need: every card gets its worker');
  } finally {
    await pool.close(5000);
  }
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], new RegExp(`^ignoring the remembered memory needs in ${store.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a measured-need file \\(.*JSON.*\\); it will be replaced by new measurements$`));
  assert.deepEqual(readFile(store).needs.map((n) => [n.device, n.bytes]), [[H200, GIB]]);
});

test('GPUPOOL_CACHE_DIR decides where the needs are kept (else XDG_CACHE_HOME, else ~/.cache); gpupool doctor reads it and shows the remembered need', async () => {
  assert.equal(cacheDir({ GPUPOOL_CACHE_DIR: '/x/cache', XDG_CACHE_HOME: '/y', HOME: '/h' }), '/x/cache');
  assert.equal(cacheDir({ XDG_CACHE_HOME: '/y', HOME: '/h' }), '/y/gpupool');
  assert.equal(cacheDir({ HOME: '/h' }), '/h/.cache/gpupool');
  assert.equal(MeasuredNeedStore.fromEnv({ GPUPOOL_CACHE_DIR: '/x/cache' }).file, '/x/cache/measured-need.json');

  const dir = tempDir('gpupool-measured-');
  const config = resolveConfig({ models: { m: { command: [process.execPath, 'worker.js'], devices: 'all' } } }, dir);
  const store = seeded(config);
  const env = fakeEnv(await fakeTools(), { GPUPOOL_CACHE_DIR: path.dirname(store.file) });
  const { findings } = await runDoctor({ env, config });
  const fit = findings.filter((f) => f.check === 'fit').map((f) => `${f.level} ${f.message}`);
  assert.equal(fit.length, 2, fit.join('\n'));
  assert.match(fit[0], new RegExp(`^info model "m": no memory.need; 7\\.70 GiB is used \\(remembered: 7\\.00 GiB measured on NVIDIA H200 at 2025-01-01T00:00:00\\.000Z, \\+10%, from ${store.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)$`));
  // The remembered need (from the H200s) is applied to every chosen device, as one configured would be.
  assert.equal(fit[1], 'ok model "m": 5 workers of 7.70 GiB fit (spread): cuda:0 ×1, cuda:1 ×1, npu:0 ×1, npu:1 ×1, rocm:0 ×1');

  // Without it, the same doctor sees no remembered need (another cache folder).
  const elsewhere = await runDoctor({ env: { ...env, GPUPOOL_CACHE_DIR: tempDir('gpupool-measured-empty-') }, config });
  assert.match(elsewhere.findings.filter((f) => f.check === 'fit')[0].message, /no memory.need: free memory is not checked/);
});

test('mixed cards: each card model is placed by its own remembered need, and skips name that need', async () => {
  const dir = tempDir('gpupool-measured-');
  const config = noopConfig(dir);
  const fingerprint = modelFingerprint(config.models.m, dir);
  const A100 = 'NVIDIA A100-SXM4-80GB';
  const at = '2025-01-01T00:00:00.000Z';
  // The same model held 7 GiB on an H200 and 3 GiB on an A100 (another host, another run).
  const store = seeded(config, JSON.stringify({ version: 1, needs: [
    { model: 'm', fingerprint, device: H200, bytes: 7 * GIB, measuredAt: at },
    { model: 'm', fingerprint, device: A100, bytes: 3 * GIB, measuredAt: at },
  ] }));
  // Card 0 is an A100 with 4 GiB free (room for 3.30 GiB, not for 7.70); card 1 an H200 with 5 GiB free (no room for 7.70).
  const provider = new FakeNvidiaProvider();
  provider.devices[0] = { ...provider.devices[0], name: A100 };
  provider.setFree(0, 4 * GIB);
  provider.setFree(1, 5 * GIB);
  const events: PoolEvent[] = [];
  const pool = await startPool(config, provider, store, events);
  try {
    assert.deepEqual(pool.workers.map((w) => w.id), ['m/cuda:0/0'], 'the A100 takes a worker by its own 3.30 GiB; the H200 has no room for 7.70 GiB');
    const used = events.find((e) => e.type === 'memory-need');
    assert.ok(used?.type === 'memory-need');
    assert.match(used.message, /^model "m" has no memory.need: placing by the need of each card model \(remembered per card model: 3\.00 GiB on NVIDIA A100-SXM4-80GB, 7\.00 GiB on NVIDIA H200, \+10%, from .*\)$/);
    const skipped = events.filter((e) => e.type === 'placement-skipped');
    assert.equal(skipped.length, 1);
    assert.match(skipped[0].message, /^no room on cuda:1 for a worker of "m" \(memory\.need 7\.70 GiB \(remembered per card model: .*\)\): cuda:1 has 5\.00 GiB free$/);
  } finally {
    await pool.close(5000);
  }
});
