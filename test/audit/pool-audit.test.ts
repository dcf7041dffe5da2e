import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { Pool, type PoolEvent } from '../../src/pool/index.js';
import type { ItemSink } from '../../src/scheduler/index.js';
import { GIB } from '../devices/fixtures.js';
import { tempDir } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { until } from '../helpers/until.js';
import { FakeNvidiaProvider } from './fake-provider.js';

const started = killAtEnd();
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'workers', 'spawning_worker.py');
const NO_SINK: ItemSink = { done: () => undefined, failed: () => undefined };

/** Dead, or a zombie its parent has not reaped yet: either way it holds no device memory. */
function gone(pid: number): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

test('a pool with --on-stray kill: a real worker pinned to cuda:1 whose child lands on cuda:0 has the child killed, and says so with the remedy', async () => {
  const dir = tempDir('gpupool-audit-');
  const pidFile = path.join(dir, 'child.pid');
  const config = resolveConfig(
    { models: { spawner: { command: ['python3', WORKER], devices: 'cuda:1', env: { CHILD_PID_FILE: pidFile } } } },
    dir,
  );
  const provider = new FakeNvidiaProvider();
  const [card0, card1] = provider.devices;
  const events: PoolEvent[] = [];
  const running: { pool?: Pool } = {};
  // What the driver would list: the worker on its card, its child on card 0.
  provider.listProcesses = () => {
    const worker = running.pool?.workers[0].supervisor.pid;
    const child = fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined;
    return [
      ...(worker ? [{ pid: worker, deviceUuid: card1.uuid, usedMemory: 3 * GIB }] : []),
      ...(child && !gone(child) ? [{ pid: child, deviceUuid: card0.uuid, usedMemory: GIB }] : []),
    ];
  };
  const pool = (running.pool = await Pool.start({
    config,
    logDir: path.join(dir, 'logs'),
    sinkFor: () => NO_SINK,
    providers: [provider, new CpuProvider()],
    onStray: 'kill',
    auditEveryMs: 50,
    onEvent: (e) => events.push(e),
  }));
  try {
    const workerPid = pool.workers[0].supervisor.pid!;
    const childPid = await until('the child PID', () => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined));
    started.push(childPid);
    const stray = await until('a stray event', () => events.find((e) => e.type === 'stray'));
    assert.ok(stray.type === 'stray');
    assert.equal(stray.action, 'killed');
    assert.equal(stray.stray.worker, 'spawner/cuda:1/0');
    assert.deepEqual([stray.stray.deviceKey, stray.stray.pids, stray.stray.workerPid], ['cuda:0', [childPid], workerPid]);
    assert.match(stray.message, new RegExp(`killed PID ${childPid}$`));
    assert.match(stray.stray.remedy, /CUDA_VISIBLE_DEVICES reset or changed/);
    await until('the child to die', () => gone(childPid));
    await until('the stray to clear', () => events.find((e) => e.type === 'stray-cleared'));
    assert.deepEqual(pool.audit?.strays, []);
    // The worker itself was not touched: same process, still serving.
    assert.equal(pool.workers[0].supervisor.pid, workerPid);
    assert.ok(['ready', 'busy'].includes(pool.workers[0].supervisor.state));
  } finally {
    await pool.close(5000);
  }
});

test('warn (the default): the stray stays listed in pool.audit.strays, with its memory and first-seen time, and the child lives', async () => {
  const dir = tempDir('gpupool-audit-');
  const pidFile = path.join(dir, 'child.pid');
  const config = resolveConfig({ models: { spawner: { command: ['python3', WORKER], devices: 'cuda:1', env: { CHILD_PID_FILE: pidFile } } } }, dir);
  const provider = new FakeNvidiaProvider();
  const [card0] = provider.devices;
  provider.listProcesses = () => (fs.existsSync(pidFile) ? [{ pid: Number(fs.readFileSync(pidFile, 'utf8')), deviceUuid: card0.uuid, usedMemory: GIB }] : []);
  const events: PoolEvent[] = [];
  const pool = await Pool.start({ config, logDir: path.join(dir, 'logs'), sinkFor: () => NO_SINK, providers: [provider, new CpuProvider()], auditEveryMs: 50, onEvent: (e) => events.push(e) });
  try {
    const childPid = await until('the child PID', () => (fs.existsSync(pidFile) ? Number(fs.readFileSync(pidFile, 'utf8')) : undefined));
    started.push(childPid);
    const strays = await until('a stray', () => (pool.audit!.strays.length > 0 ? pool.audit!.strays : undefined));
    const calls = provider.processCalls;
    await until('two more checks', () => provider.processCalls >= calls + 2);
    assert.equal(pool.audit!.onStray, 'warn');
    assert.deepEqual(pool.audit!.strays.map((s) => [s.kind, s.deviceKey, s.usedMemory, s.since]), [['wrong-device', 'cuda:0', GIB, strays[0].since]]);
    assert.equal(events.filter((e) => e.type === 'stray').length, 1, 'reported once');
    assert.equal(gone(childPid), false);
  } finally {
    await pool.close(5000);
  }
});
