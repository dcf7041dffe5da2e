import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { PassThrough } from 'node:stream';
import {
  devicesCommand,
  devicesToJson,
  formatBytes,
  renderDeviceTable,
  shortUuid,
} from '../../src/cli/commands/devices-command.js';
import {
  NpuSmiProvider,
  NvidiaSmiProvider,
  snapshotDevices,
  workerDeviceKeys,
  type DeviceSnapshot,
} from '../../src/devices/index.js';
import { auditSnapshots } from '../../src/audit/index.js';
import { startWorkerTree } from '../audit/process-tree.js';
import { fakeEnv, fakeTools } from './fake-tools.js';
import { GIB, MIB } from './fixtures.js';
import { CLI, runCli } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';

const started = killAtEnd();

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (b: Buffer) => (text += String(b)));
  return { out, text: () => text };
}

/** A real process carrying a worker's environment, as a holder of device memory. */
function workerProcess(workerId: string): number {
  const child = spawn('sleep', ['30'], { env: { ...process.env, GPUPOOL_WORKER_ID: workerId, GPUPOOL_MODEL: 'ocr' }, stdio: 'ignore' });
  started.push(child.pid!);
  return child.pid!;
}

async function snapshotsFromFixtures(apps: string): Promise<DeviceSnapshot[]> {
  const tools = await fakeTools({ nvidiaApps: apps });
  return snapshotDevices([new NvidiaSmiProvider(tools.nvidia), new NpuSmiProvider(tools.npu)]);
}

test('snapshot: owners of real processes, a worker on a card its id does not name is flagged', async () => {
  const ours = workerProcess('ocr/cuda:1/0');
  const stray = workerProcess('ocr/cuda:0/1');
  await new Promise((r) => setTimeout(r, 50));
  const card1 = 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57';
  const snaps = await snapshotsFromFixtures(`${ours}, ${card1}, 5518\n${stray}, ${card1}, 1218\n${2 ** 22 + 7}, ${card1}, [N/A]\n`);
  assert.deepEqual(snaps.map((s) => s.device.key), ['cuda:0', 'cuda:1', 'npu:0', 'npu:1']);
  assert.deepEqual(snaps[1].processes, [
    { pid: ours, deviceUuid: card1, usedMemory: 5518 * MIB, worker: 'ocr/cuda:1/0', model: 'ocr', ours: true },
    { pid: stray, deviceUuid: card1, usedMemory: 1218 * MIB, worker: 'ocr/cuda:0/1', model: 'ocr', ours: true, misplaced: true },
    { pid: 2 ** 22 + 7, deviceUuid: card1, ours: false },
  ]);
  assert.deepEqual(snaps[2].processes, [{ pid: 124528, deviceUuid: 'NPU-0000:5A:00.0', usedMemory: 17400 * MIB, ours: false }]);
});

test('table: bar, memory, utilisation and each process with its owner', async () => {
  const ours = workerProcess('ocr/npu:0/0');
  await new Promise((r) => setTimeout(r, 50));
  const snaps = await snapshotsFromFixtures(`${ours}, GPU-7cb87390-070c-caf7-0085-ee35d0beed8d, 3518\n`);
  const table = renderDeviceTable(snaps, { width: 120 });
  const lines = table.split('\n');
  assert.match(lines[0], /^IDX\s+DEVICE\s+UUID\s+NAME\s+MEMORY\s+UTIL$/);
  assert.match(lines[1], /^ {2}0 {2}cuda:0 {2}GPU-7cb87390 +NVIDIA H200 +\[░░░░░░░░░░\] +4\.4\/140\.4 GiB +0%$/);
  assert.match(lines[2], new RegExp(`^ {5}PID ${ours} +3\\.4 GiB  gpupool worker ocr/npu:0/0 \\(not pinned to this device\\)$`));
  assert.match(lines[3], /^ {2}1 {2}cuda:1 {2}GPU-aba85625 +NVIDIA H200 +\[█░░░░░░░░░\] +8\.1\/140\.4 GiB +0%$/);
  assert.match(lines[4], /^ {2}0 {2}npu:0 {3}NPU-0000:5A:00\.0 {2}910B2C +\[███░░░░░░░\] +20\.2\/64\.0 GiB +0%$/);
  assert.match(lines[5], /^ {5}PID 124528 +17\.0 GiB  other$/);
  assert.equal(lines.length, 7);
});

test('table: colours only when asked; long names give way to the width', async () => {
  const snaps = await snapshotsFromFixtures('');
  assert.doesNotMatch(renderDeviceTable(snaps), /\x1b\[/);
  assert.match(renderDeviceTable(snaps, { color: true }), /\x1b\[32m█\x1b\[39m/);
  const named = [{ ...snaps[0], device: { ...snaps[0].device, name: 'NVIDIA H200 NVL with a name far too long for any terminal' } }];
  const narrow = renderDeviceTable(named, { width: 80 });
  assert.ok(narrow.split('\n').every((l) => l.length <= 80), narrow);
  assert.match(narrow, /NVIDIA H200 NVL.*…/);
  assert.equal(renderDeviceTable([]), 'no devices');
});

test('helpers: short UUIDs, human bytes, worker id → device keys', () => {
  assert.equal(shortUuid('GPU-7cb87390-070c-caf7-0085-ee35d0beed8d'), 'GPU-7cb87390');
  assert.equal(shortUuid('cpu'), 'cpu');
  assert.equal(formatBytes(1018 * MIB), '1018 MiB');
  assert.equal(formatBytes(41.2 * GIB), '41.2 GiB');
  assert.deepEqual(workerDeviceKeys('ocr/cuda:6+7/0'), ['cuda:6', 'cuda:7']);
  assert.deepEqual(workerDeviceKeys('org/model/npu:2/1'), ['npu:2']);
  assert.deepEqual(workerDeviceKeys('free-form'), []);
});

test('--json: stable field names, null where unknown', async () => {
  const snaps = await snapshotsFromFixtures(`4242, GPU-aba85625-a4c1-3e15-29ac-adba2f481c57, [N/A]\n`);
  const json = devicesToJson(snaps, await auditSnapshots(snaps));
  assert.deepEqual(json[1], {
    key: 'cuda:1',
    vendor: 'nvidia',
    index: 1,
    uuid: 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57',
    name: 'NVIDIA H200',
    pciBusId: '00000000:00:07.0',
    memoryTotal: 143771 * MIB,
    memoryUsed: 8274 * MIB,
    memoryFree: 134882 * MIB,
    utilization: 0,
    processes: [{ pid: 4242, usedMemory: null, worker: null, model: null, ours: false, misplaced: false, child: false, stray: null }],
  });
});

test('strays: a worker\'s child on a card the worker was not given is marked in the table and the JSON, with the remedy', async () => {
  const tree = await startWorkerTree('ocr/cuda:1/0', started);
  const card0 = 'GPU-7cb87390-070c-caf7-0085-ee35d0beed8d';
  const card1 = 'GPU-aba85625-a4c1-3e15-29ac-adba2f481c57';
  const snaps = await snapshotsFromFixtures(`${tree.workerPid}, ${card1}, 2048\n${tree.childPid}, ${card0}, 1024\n`);
  const audit = await auditSnapshots(snaps);
  const table = renderDeviceTable(snaps, { width: 120, audit });
  const message = `stray: a child of worker ocr/cuda:1/0 (PID ${tree.childPid}, the worker is PID ${tree.workerPid}) holds 1.00 GiB on cuda:0, a device it was not given (it was given cuda:1)`;
  assert.match(table, new RegExp(`PID ${tree.childPid} +1\\.0 GiB  child of gpupool worker ocr/cuda:1/0 \\(stray: not given this device\\)`));
  assert.match(table, new RegExp(`PID ${tree.workerPid} +2.0 GiB  gpupool worker ocr/cuda:1/0\n`));
  assert.ok(table.includes(`\n\n${message}\n  remedy: The worker starts a process with CUDA_VISIBLE_DEVICES reset or changed`), table);
  const json = devicesToJson(snaps, audit);
  assert.deepEqual(json[0].processes[0].stray, { kind: 'wrong-device', message, remedy: audit.strays[0].remedy });
  assert.equal(json[0].processes[0].child, true);
  assert.equal(json[1].processes[0].stray, null);
});

test('devicesCommand prints the table, or JSON, through the real discovery and tools', async () => {
  const tools = await fakeTools();
  const env = fakeEnv(tools, { NO_COLOR: '1' });
  const table = capture();
  await devicesCommand({ out: table.out, env });
  assert.match(table.text(), /cuda:1 .*8\.1\/140\.4 GiB/);
  assert.match(table.text(), /rocm:0 .*Radeon RX 7900 XT/);
  assert.match(table.text(), /cpu:0/);
  const json = capture();
  await devicesCommand({ out: json.out, env, json: true });
  const parsed = JSON.parse(json.text()) as { key: string }[];
  assert.deepEqual(parsed.map((d) => d.key), ['cuda:0', 'cuda:1', 'npu:0', 'npu:1', 'rocm:0', 'cpu:0']);
});

/** Waits until `count()` reaches `n` redraws: a loaded machine draws slower, never fewer. */
async function redraws(count: () => number, n: number): Promise<void> {
  while (count() < n) await new Promise((r) => setTimeout(r, 20));
}

test('--watch redraws until stopped; with --json, one document per line', async () => {
  const env = fakeEnv(await fakeTools());
  const table = capture();
  const stop = new AbortController();
  const running = devicesCommand({ out: table.out, env, watch: 0.05, signal: stop.signal });
  await redraws(() => table.text().split('\x1b[2J\x1b[H').length - 1, 2);
  stop.abort();
  await running;
  const frames = table.text().split('\x1b[2J\x1b[H').filter((f) => f.length > 0);
  assert.ok(frames.length >= 2, `expected several frames, got ${frames.length}`);
  assert.match(frames[0], /^gpupool devices · every 0\.05 s/);

  const json = capture();
  const stopJson = new AbortController();
  const runningJson = devicesCommand({ out: json.out, env, watch: 0.05, json: true, signal: stopJson.signal });
  await redraws(() => json.text().split('\n').length - 1, 2);
  stopJson.abort();
  await runningJson;
  const lines = json.text().trim().split('\n');
  assert.ok(lines.length >= 2);
  for (const line of lines) assert.equal((JSON.parse(line) as unknown[]).length, 6);
});

test('--watch refuses a non-positive interval; on the command line, anything not a number of seconds, by its value', async () => {
  await assert.rejects(devicesCommand({ watch: 0, env: { PATH: '' } }), /`--watch` takes a number of seconds > 0, got "0"/);
  // 3000000 s is past the longest timer Node keeps: it fired at once, redrawing in a loop.
  for (const bad of ['abc', '0', '2s', '3000000']) {
    const r = await runCli(['devices', '--watch', bad]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`GPUPOOL_E_USAGE: --watch takes a number of seconds > 0 and at most 2147483, got "${bad}"`));
  }
});

test('a reader that closes the pipe (devices --watch | head) ends the command quietly, exit 0', async () => {
  const child = spawn(process.execPath, [CLI, 'devices', '--watch', '0.05'], { env: { ...process.env, ...fakeEnv(await fakeTools()) }, stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child.pid!);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise((resolve) => child.stdout.once('data', resolve));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|\n\s+at /);
});
