/**
 * Driver PIDs inside a PID namespace of its own: the driver's listings are what NVML gives a
 * container, the host's PIDs (large numbers) from an older driver, the container's from a recent
 * one (the last tests); ours are the container's. The translation is fed
 * listings in the order a pool makes them: a baseline before any worker starts, then the audit's.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { DeviceProcess, DeviceProvider } from '../../src/devices/device.js';
import { driverPidsAreOurs, HostPidMap, HostPidTranslatingProvider, noteSpawnedOnDevices, processesLeftOut, spawnedOnDevices, type ProcView, type SpawnedOnDevices } from '../../src/devices/host-pids.js';

const A = 'GPU-aaaa';
const B = 'GPU-bbbb';
const on = (uuid: string, pid: number, usedMemory = 1 << 30): DeviceProcess => ({ pid, deviceUuid: uuid, usedMemory });

/** A namespace's /proc as PID → parent PID; a PID not in it is no process here. */
function procWith(parents: Record<number, number>): ProcView {
  return { exists: (pid) => pid in parents, parent: (pid) => parents[pid] };
}
/** A container whose few PIDs are none of the driver's (an older driver's host PIDs). */
const NONE_HERE = procWith({});

test('the first PID namespace is told from a container by its inode; no /proc means the PIDs are ours', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-pidns-'));
  fs.symlinkSync('pid:[4026531836]', path.join(dir, 'first'));
  fs.symlinkSync('pid:[4026532999]', path.join(dir, 'container'));
  assert.equal(driverPidsAreOurs(path.join(dir, 'first')), true);
  assert.equal(driverPidsAreOurs(path.join(dir, 'container')), false);
  assert.equal(driverPidsAreOurs(path.join(dir, 'missing')), true);
  assert.equal(driverPidsAreOurs(), fs.readlinkSync('/proc/self/ns/pid') === 'pid:[4026531836]', 'this process, as it is');
});

test('a worker is named by the first new driver PID on its device; others on the card are left out', () => {
  const map = new HostPidMap(NONE_HERE);
  // Before any worker: another container's process on card A is nobody we know.
  assert.deepEqual(map.translate([on(A, 900_001)], []), []);
  const workers: SpawnedOnDevices[] = [{ pid: 57, deviceUuids: [A], order: 1 }, { pid: 58, deviceUuids: [B], order: 2 }];
  // Started, not on the cards yet: nothing new is theirs.
  assert.deepEqual(map.translate([on(A, 900_001)], workers), []);
  // Each comes to its card: the new PID there is its own.
  assert.deepEqual(map.translate([on(A, 900_001), on(A, 3_141_592, 5 << 30), on(B, 3_141_600)], workers), [on(A, 57, 5 << 30), on(B, 58)]);
  // Kept while both are there; a child that comes later (a data loader) is not the worker.
  assert.deepEqual(map.translate([on(A, 900_001), on(A, 3_141_592, 6 << 30), on(B, 3_141_600), on(A, 3_141_700)], workers), [on(A, 57, 6 << 30), on(B, 58)]);
});

test('a restarted worker learns its new PID; several on one card pair in start order with rising PIDs', () => {
  const map = new HostPidMap(NONE_HERE);
  map.translate([], []);
  let workers: SpawnedOnDevices[] = [{ pid: 10, deviceUuids: [A], order: 1 }, { pid: 11, deviceUuids: [A], order: 2 }];
  assert.deepEqual(map.translate([on(A, 5002), on(A, 5001)], workers), [on(A, 11), on(A, 10)]);
  // Worker 10 crashed and came back as 12: its old driver PID is gone, the next new one is its.
  workers = [{ pid: 11, deviceUuids: [A], order: 2 }, { pid: 12, deviceUuids: [A], order: 3 }];
  assert.deepEqual(map.translate([on(A, 5002)], workers), [on(A, 11)]);
  assert.deepEqual(map.translate([on(A, 5002), on(A, 5100)], workers), [on(A, 11), on(A, 12)]);
});

test('a worker over two cards is one driver PID on both', () => {
  const map = new HostPidMap(NONE_HERE);
  map.translate([], []);
  const workers: SpawnedOnDevices[] = [{ pid: 30, deviceUuids: [A, B], order: 1 }];
  assert.deepEqual(map.translate([on(A, 7000), on(B, 7000)], workers), [on(A, 30), on(B, 30)]);
});

test('the provider takes its baseline at its first read, giving nobody what is there, whatever was started before', async () => {
  let listing: DeviceProcess[] = [on(A, 900_001, 30 << 30)];
  const inner: DeviceProvider = {
    vendor: 'nvidia',
    source: 'nvml',
    list: async () => [],
    sample: async () => [],
    processes: async () => listing,
    close: async () => undefined,
  };
  // A worker of another pool of this process already runs (the registry is the process's).
  const started: SpawnedOnDevices[] = [{ pid: 57, deviceUuids: [A], order: 1 }];
  for (const first of ['list', 'processes'] as const) {
    listing = [on(A, 900_001, 30 << 30)];
    const provider = new HostPidTranslatingProvider(inner, () => started, NONE_HERE);
    assert.equal(provider.source, 'nvml', 'the doctor still tells NVML from nvidia-smi');
    if (first === 'list') await provider.list();
    // Without the baseline, the 30 GiB process that was there before would be taken for the worker.
    assert.deepEqual(await provider.processes(), [], `first read: ${first}`);
    listing = [on(A, 900_001, 30 << 30), on(A, 3_141_592)];
    assert.deepEqual(await provider.processes(), [on(A, 57)], `first read: ${first}`);
  }
});

test('two workers on one card are paired in start order even when the second reaches the card first', () => {
  const map = new HostPidMap(NONE_HERE);
  map.translate([], []);
  const workers: SpawnedOnDevices[] = [{ pid: 10, deviceUuids: [A], order: 1 }, { pid: 11, deviceUuids: [A], order: 2 }];
  // Worker 11 (host PID 5002) is on the card; worker 10 (5001) is still loading: nobody is named yet.
  assert.deepEqual(map.translate([on(A, 5002, 2 << 30)], workers), []);
  assert.deepEqual(map.translate([on(A, 5002, 2 << 30), on(A, 5001, 9 << 30)], workers), [on(A, 11, 2 << 30), on(A, 10, 9 << 30)]);
});

test('a worker over two cards with a process on each (tensor parallel) is learned on both', () => {
  const map = new HostPidMap(NONE_HERE);
  map.translate([], []);
  const workers: SpawnedOnDevices[] = [{ pid: 30, deviceUuids: [A, B], order: 1 }];
  assert.deepEqual(map.translate([on(A, 7001)], workers), [on(A, 30)]);
  assert.deepEqual(map.translate([on(A, 7001), on(B, 7002)], workers), [on(A, 30), on(B, 30)]);
});

test('an empty listing (a driver hiccup) forgets nothing: a process that was there all along is not taken for ours after it', () => {
  const map = new HostPidMap(NONE_HERE);
  map.translate([on(A, 4000, 30 << 30)], []);
  const workers: SpawnedOnDevices[] = [{ pid: 10, deviceUuids: [A], order: 1 }];
  assert.deepEqual(map.translate([on(A, 4000, 30 << 30), on(A, 5001)], workers), [on(A, 10)]);
  assert.deepEqual(map.translate([], workers), []);
  assert.deepEqual(map.translate([on(A, 4000, 30 << 30), on(A, 5001)], workers), [on(A, 10)]);
  // Restarted as 12 after a hiccup that hid card A: the foreign process there is still not new.
  const restarted: SpawnedOnDevices[] = [{ pid: 12, deviceUuids: [A], order: 2 }];
  assert.deepEqual(map.translate([on(B, 1)], restarted), []);
  assert.deepEqual(map.translate([on(A, 4000, 30 << 30), on(A, 5300)], restarted), [on(A, 12)]);
});

test('a spawned process is noted with its devices until it exits; one given none is not', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 200)']);
  const forget = noteSpawnedOnDevices(child.pid, `${A},${B}`);
  const forgetNone = noteSpawnedOnDevices(child.pid! + 1, '');
  assert.deepEqual(
    spawnedOnDevices().filter((s) => s.pid === child.pid || s.pid === child.pid! + 1).map((s) => [s.pid, s.deviceUuids]),
    [[child.pid, [A, B]]],
  );
  await new Promise((resolve) => child.on('exit', resolve));
  forget();
  forgetNone();
  assert.equal(spawnedOnDevices().some((s) => s.pid === child.pid), false);
});

test("a driver that reports this namespace's PIDs (recent NVIDIA, seen on the GPU host) is found from our worker, and its listings are then taken as they are", () => {
  // PIDs 2 and 33 are processes here (as inside the GPU host's namespace): a tenant started before us, and our worker.
  const map = new HostPidMap(procWith({ 2: 1, 33: 1 }));
  // Nothing of ours yet, every PID a process here: shown as it is, nothing left out.
  assert.deepEqual(map.translate([on(A, 2, 55 << 30)], []), [on(A, 2, 55 << 30)]);
  assert.equal(map.leftOut, 0);
  const workers: SpawnedOnDevices[] = [{ pid: 33, deviceUuids: [A], order: 1 }];
  // Started, not on the card yet: not known yet, so the tenant is left out.
  assert.deepEqual(map.translate([on(A, 2, 55 << 30)], workers), []);
  assert.equal(map.leftOut, 1);
  assert.equal(map.driverSpeaksOurs, false);
  // Our worker is listed on its card under its own PID: the tenant is named again, and stays so.
  assert.deepEqual(map.translate([on(A, 2, 55 << 30), on(A, 33, 1 << 30)], workers), [on(A, 2, 55 << 30), on(A, 33, 1 << 30)]);
  assert.equal(map.driverSpeaksOurs, true);
  assert.deepEqual(map.translate([on(A, 2, 55 << 30), on(A, 40)], []), [on(A, 2, 55 << 30), on(A, 40)], 'after the worker exited too');
  assert.equal(map.leftOut, 0);
});

test("our worker's PID on another card than its own is no sign; PIDs that are not processes here are left out and counted", async () => {
  const map = new HostPidMap(NONE_HERE);
  assert.deepEqual(map.translate([on(A, 900_001)], []), []);
  assert.equal(map.leftOut, 1);
  const workers: SpawnedOnDevices[] = [{ pid: 57, deviceUuids: [B], order: 1 }];
  assert.deepEqual(map.translate([on(A, 900_001), on(A, 57)], workers), []);
  assert.equal(map.driverSpeaksOurs, false);
  // The provider tells `gpupool devices` how many it left out.
  const inner: DeviceProvider = { vendor: 'nvidia', source: 'nvml', list: async () => [], sample: async () => [], processes: async () => [on(A, 900_001), on(B, 900_002)], close: async () => undefined };
  const provider = new HostPidTranslatingProvider(inner, () => [], NONE_HERE);
  await provider.processes();
  assert.equal(processesLeftOut([provider, inner]), 2);
});

test("a wrapper's child holding the card (bash -c, torchrun) shows the driver speaks our PIDs too", () => {
  // Worker 33 is `bash -c`; its child 34 runs the model. PID 2 is a tenant of this namespace.
  const map = new HostPidMap(procWith({ 1: 0, 2: 1, 33: 1, 34: 33 }));
  const workers: SpawnedOnDevices[] = [{ pid: 33, deviceUuids: [A], order: 1 }];
  assert.deepEqual(map.translate([on(A, 2, 55 << 30), on(A, 34)], workers), [on(A, 2, 55 << 30), on(A, 34)]);
  assert.equal(map.driverSpeaksOurs, true);
});

test("a host-PID driver's foreign process numbered as our worker is no sign while its other PIDs are not processes here", () => {
  // Our worker is 33 here; the driver lists it as 3141592, and another container's process happens to be host PID 33.
  const map = new HostPidMap(procWith({ 1: 0, 33: 1 }));
  map.translate([on(A, 33, 20 << 30)], []);
  const workers: SpawnedOnDevices[] = [{ pid: 33, deviceUuids: [A], order: 1 }];
  assert.deepEqual(map.translate([on(A, 33, 20 << 30), on(A, 3_141_592, 5 << 30)], workers), [on(A, 33, 5 << 30)], 'ours learned from the new host PID');
  assert.equal(map.driverSpeaksOurs, false);
});

test("a tenant of this namespace that reaches the card before our worker is not taken for it", () => {
  const map = new HostPidMap(procWith({ 1: 0, 33: 1, 40: 1 }));
  map.translate([], []);
  const workers: SpawnedOnDevices[] = [{ pid: 33, deviceUuids: [A], order: 1 }];
  // PID 40 is a process here under none of our workers; the listing is not all-ours yet either.
  const first = map.translate([on(A, 40, 55 << 30)], workers);
  assert.deepEqual(first, [], 'not named as worker 33');
  assert.deepEqual(map.translate([on(A, 40, 55 << 30), on(A, 33)], workers), [on(A, 40, 55 << 30), on(A, 33)], 'then ours comes, under its own PID');
});

test('CPU workers leave the cards as if nothing of ours ran: PIDs that are processes here are shown, the others counted out', () => {
  const map = new HostPidMap(procWith({ 1: 0, 2: 1 }));
  const cpuWorkers: SpawnedOnDevices[] = [{ pid: 50, deviceUuids: ['cpu'], order: 1 }];
  assert.deepEqual(map.translate([on(A, 2), on(A, 900_001), on(B, 900_001)], cpuWorkers), [on(A, 2)]);
  assert.equal(map.leftOut, 2);
});
