import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { resolveConfig, type GpupoolConfigInput } from '../../src/config/index.js';
import { runDoctor, renderFindings, type Finding } from '../../src/doctor/index.js';
import { fakeEnv, fakeTools } from '../devices/fake-tools.js';
import { runCli, tempDir, writeConfig } from '../helpers/cli.js';
import { killAtEnd } from '../helpers/processes.js';
import { startWorkerTree } from '../audit/process-tree.js';

const started = killAtEnd();
const CARD0 = 'GPU-7cb87390-070c-caf7-0085-ee35d0beed8d';
/** An executable that exists everywhere, so a model's command is found. */
const COMMAND = [process.execPath, 'worker.js'];

const of = (findings: readonly Finding[], check: string, level?: string): Finding[] =>
  findings.filter((f) => f.check === check && (level === undefined || f.level === level));

function config(models: GpupoolConfigInput['models']) {
  return resolveConfig({ models }, tempDir('gpupool-doctor-'));
}

async function listening(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

test('drivers: each tool that answers is listed; NVML missing is a warning with its fix; a failing driver is an error with its fix', async () => {
  const tools = await fakeTools();
  const { findings } = await runDoctor({ env: fakeEnv(tools) });
  assert.deepEqual(of(findings, 'drivers', 'ok').map((f) => f.message), [
    'nvidia-smi: 2 devices, cuda:0-1 (NVIDIA H200)',
    'npu-smi: 2 devices, npu:0-1 (910B2C)',
    'rocm-smi: 1 device, rocm:0 (Radeon RX 7900 XT)',
  ]);
  const [nvml] = of(findings, 'drivers', 'warn');
  assert.match(nvml.message, /^NVML: \/nonexistent\/libnvidia-ml.so.1 could not be loaded or initialised; NVIDIA cards are read through nvidia-smi/);
  assert.match(nvml.fix!, /GPUPOOL_NVML_LIB/);

  const broken = await runDoctor({ env: fakeEnv(tools, { GPUPOOL_NVIDIA_SMI: tools.broken }) });
  const [err] = of(broken.findings, 'drivers', 'error');
  assert.match(err.message, /couldn't communicate with the NVIDIA driver/);
  assert.match(err.fix!, /run `nvidia-smi` by hand/);
  assert.ok(broken.errors >= 1);
});

test('visibility: a CUDA_VISIBLE_DEVICES hiding the card the config names is an error; the variable itself, and indices without PCI_BUS_ID, are warnings', async () => {
  const env = fakeEnv(await fakeTools(), { CUDA_VISIBLE_DEVICES: '1' });
  const { findings } = await runDoctor({ env, config: config({ ocr: { command: COMMAND, devices: 'cuda:0' } }) });
  const errors = of(findings, 'visibility', 'error');
  assert.equal(errors.length, 1);
  assert.equal(errors[0].message, 'model "ocr" (devices: cuda:0): cuda:0 (GPU-7cb87390-070c-caf7-0085-ee35d0beed8d) is hidden: gpupool runs under CUDA_VISIBLE_DEVICES="1", which leaves cuda:1 (NVIDIA H200).');
  assert.ok(errors[0].fix);
  assert.deepEqual(of(findings, 'visibility', 'warn').map((f) => f.message), [
    'gpupool runs under CUDA_VISIBLE_DEVICES="1": only cuda:1 (NVIDIA H200) can be used (still named by host index)',
    'CUDA_VISIBLE_DEVICES="1" uses indices without CUDA_DEVICE_ORDER=PCI_BUS_ID: CUDA numbers cards fastest first, so index n there may not be card n of nvidia-smi, which gpupool follows',
  ]);
  const ordered = await runDoctor({ env: { ...env, CUDA_DEVICE_ORDER: 'PCI_BUS_ID' }, config: config({ ocr: { command: COMMAND, devices: 'cuda:1' } }) });
  assert.deepEqual(of(ordered.findings, 'visibility').map((f) => f.level), ['warn']);
});

test('visibility: host NPU ids in ASCEND_RT_VISIBLE_DEVICES are an error whose fix gives the logical ids', async () => {
  const { findings } = await runDoctor({ env: fakeEnv(await fakeTools(), { ASCEND_RT_VISIBLE_DEVICES: '4,7' }) });
  const [f] = of(findings, 'visibility', 'error');
  assert.equal(f.message, 'ASCEND_RT_VISIBLE_DEVICES="4,7": "4", "7" name no device here; it leaves none');
  assert.match(f.fix!, /logical ids \(npu:0 is 0, npu:1 is 1\)/);
});

test('fit: workers that cannot fit in the free memory are named with each card\'s free memory; a card without room is a warning', async () => {
  const env = fakeEnv(await fakeTools());
  // The captured cards have 138606 MiB (135.4 GiB) and 134882 MiB (131.7 GiB) free.
  const some = await runDoctor({ env, config: config({ llm: { command: COMMAND, devices: 'cuda:0,1', memory: { need: '133GiB' } } }) });
  assert.deepEqual(of(some.findings, 'fit').map((f) => [f.level, f.message]), [
    ['warn', 'no room on cuda:1 for a worker of "llm" (memory.need 133.0 GiB): cuda:1 has 131.7 GiB free'],
    ['ok', 'model "llm": 1 worker of 133.0 GiB fit (spread): cuda:0 ×1'],
  ]);
  const none = await runDoctor({ env, config: config({ llm: { command: COMMAND, devices: 'cuda:0,1', memory: { need: '140GiB' } } }) });
  const [f] = of(none.findings, 'fit', 'error');
  assert.equal(f.message, 'model "llm": no device has room for one worker needing memory.need 140.0 GiB: cuda:0 has 135.4 GiB free, cuda:1 has 131.7 GiB free.');
  assert.match(f.fix!, /lower `memory.need`/);
});

test('config: a file that does not load, an unknown model, a command that does not exist', async () => {
  const env = fakeEnv(await fakeTools());
  const missing = await runDoctor({ env, configFile: '/nonexistent/gpupool.yaml' });
  assert.deepEqual(of(missing.findings, 'config', 'error').map((f) => f.message), ['config file "/nonexistent/gpupool.yaml" does not exist']);
  const cfg = config({ ocr: { command: ['/nonexistent/python3', 'w.py'], devices: 'cuda:0' } });
  const { findings } = await runDoctor({ env, config: cfg, models: ['ocr', 'asr'] });
  assert.deepEqual(of(findings, 'config', 'error').map((f) => f.message), [
    'unknown model "asr"; the config defines: ocr',
    'model "ocr": worker command "/nonexistent/python3" (/nonexistent/python3) does not exist or is not executable',
  ]);
});

test('ports: a port taken now is an error naming who asked for it; --port and each replica port of a kind: http model are checked', async () => {
  const { server, port } = await listening();
  const other = await listening();
  const free = (other.server.address() as net.AddressInfo).port;
  other.server.close();
  await once(other.server, 'close');
  try {
    const env = fakeEnv(await fakeTools());
    const cfg = config({ llm: { kind: 'http', command: COMMAND, devices: 'cuda:0', http: { port_base: port } } });
    const { findings } = await runDoctor({ env, config: cfg, ports: [free, port] });
    assert.deepEqual(of(findings, 'ports').map((f) => [f.level, f.message]), [
      ['ok', `port ${free} (--port) is free on 0.0.0.0`],
      ['error', `port ${port} (--port) is taken on 0.0.0.0`],
      ['error', `port ${port} (model "llm" replica 0) is taken on 0.0.0.0`],
    ]);
    assert.match(of(findings, 'ports', 'error')[0].fix!, new RegExp(`ss -ltnp 'sport = :${port}'`));
  } finally {
    server.close();
  }
});

test('strays: a running worker\'s child on a card its worker was not given is an error, with the remedy; other tenants are listed', async () => {
  const tree = await startWorkerTree('ocr/cuda:1/0', started);
  const env = fakeEnv(await fakeTools({ nvidiaApps: `${tree.childPid}, ${CARD0}, 1024\n` }));
  const { findings } = await runDoctor({ env });
  const [stray] = of(findings, 'strays', 'error');
  assert.equal(stray.message, `stray: a child of worker ocr/cuda:1/0 (PID ${tree.childPid}, the worker is PID ${tree.workerPid}) holds 1.00 GiB on cuda:0, a device it was not given (it was given cuda:1)`);
  assert.match(stray.fix!, /CUDA_VISIBLE_DEVICES reset or changed/);
  // The npu-smi and rocm-smi fixtures' processes are not on this host: tenants, with what the drivers report.
  assert.deepEqual(of(findings, 'strays', 'info').map((f) => f.message), [
    'npu:0: 1 other process (PID 124528) holds 17.0 GiB; 43.8 GiB free',
    'rocm:0: 2 other processes (PID 1949829, 10678) hold memory the driver does not report; 20.0 GiB free',
  ]);
});

test('the report: a mark, the area and the finding on one line, the fix under it, a count at the end', () => {
  const text = renderFindings({
    findings: [
      { check: 'drivers', level: 'ok', message: 'nvml: 2 devices' },
      { check: 'ports', level: 'error', message: 'port 80 (--port) is taken on 0.0.0.0', fix: 'choose another port.' },
    ],
    errors: 1,
    warnings: 0,
  });
  assert.equal(text, '✓ drivers  nvml: 2 devices\n✗ ports    port 80 (--port) is taken on 0.0.0.0\n           fix: choose another port.\n\n1 problem, 0 warnings\n');
});

test('gpupool doctor exits 1 when something is wrong and 0 when only warnings remain; --json gives the findings', async () => {
  const tools = await fakeTools();
  // The fake tools are shell scripts that need `cat`; the tool overrides still point at them.
  const cliEnv = (extra: Record<string, string> = {}) => fakeEnv(tools, { PATH: process.env.PATH ?? '/usr/bin:/bin', ...extra });
  const dir = tempDir('gpupool-doctor-cli-');
  fs.writeFileSync(path.join(dir, 'w.js'), ''); // the script node is given must exist (resolveCommand)
  const ok = writeConfig(dir, `models:\n  ocr:\n    command: [${JSON.stringify(process.execPath)}, w.js]\n    devices: cuda:1\n`);
  const clean = await runCli(['doctor', '-c', ok], { env: cliEnv() });
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /0 problems, 1 warning\n$/);
  assert.match(clean.stdout, /fix: Put libnvidia-ml.so.1/);
  const wrong = await runCli(['doctor', '-c', ok, '--json'], { env: cliEnv({ CUDA_VISIBLE_DEVICES: '0', CUDA_DEVICE_ORDER: 'PCI_BUS_ID' }) });
  assert.equal(wrong.code, 1, wrong.stderr);
  const report = JSON.parse(wrong.stdout) as { errors: number; findings: Finding[] };
  assert.equal(report.errors, 1);
  assert.match(of(report.findings, 'visibility', 'error')[0].message, /cuda:1 .* is hidden/);
  const badPort = await runCli(['doctor', '--port', '70000'], { env: cliEnv() });
  assert.equal(badPort.code, 2);
  assert.match(badPort.stderr, /--port must be an integer from 1 to 65535, got "70000"/);
});
