// `cpus: auto` with real processes: every worker runs on its own CPUs (taskset, before the model
// loads), says so in GPUPOOL_CPUS, and no two workers share one.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config/index.js';
import { allowedCpus, formatCpuList } from '../../src/devices/index.js';
import { GpupoolError } from '../../src/errors/index.js';
import { planWorkerCpus } from '../../src/pool/index.js';
import { pyWorker, readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

test('cpus: auto gives each CPU worker its own share of the CPUs; every item is answered once', async () => {
  const allowed = allowedCpus()!;
  assert.ok(allowed.length >= 2, `this test needs 2 CPUs, this machine allows ${formatCpuList(allowed)}`);
  const dir = tempDir('gpupool-cpus-');
  const config = writeConfig(dir, `models:\n  m:\n    command: ${pyWorker('affinity_worker.py')}\n    devices: cpu\n    workers_per_device: 2\n    cpus: auto\n    batch: { max: 4, timeout: 1ms }\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 400, (i) => ({ v: i }));
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 0, r.stderr);
  const lines = readOutput(out) as { id: number; output: { cpus: number[]; env: string; pid: number } }[];
  assert.equal(new Set(lines.map((l) => l.id)).size, 400);
  const byPid = new Map(lines.map((l) => [l.output.pid, l.output]));
  assert.equal(byPid.size, 2, 'both workers answered items');
  const [a, b] = [...byPid.values()];
  for (const w of [a, b]) {
    assert.ok(w.cpus.length >= 1);
    assert.equal(w.env, formatCpuList(w.cpus), 'GPUPOOL_CPUS names the CPUs the process is on');
    for (const c of w.cpus) assert.ok(allowed.includes(c));
  }
  assert.deepEqual(a.cpus.filter((c) => b.cpus.includes(c)), [], 'no CPU is shared');
});

test('without cpus (none), a worker may run on every allowed CPU and gets no GPUPOOL_CPUS', async () => {
  const dir = tempDir('gpupool-cpus-');
  const config = writeConfig(dir, `models:\n  m:\n    command: ${pyWorker('affinity_worker.py')}\n    devices: cpu\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3, (i) => ({ v: i }));
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 0, r.stderr);
  const [line] = readOutput(out) as { output: { cpus: number[]; env: string | null } }[];
  assert.deepEqual(line.output.cpus, allowedCpus());
  assert.equal(line.output.env, null);
});

test('cpus: auto without taskset on PATH is one clear error before anything starts; a bad value names what is allowed', async () => {
  const model = resolveConfig({ models: { m: { command: ['python3', 'w.py'], devices: 'cpu', cpus: 'auto' } } }, '/').models.m;
  const placements = [{ devices: [{ key: 'cpu:0', vendor: 'cpu' as const, index: 0, uuid: 'cpu', name: 'cpu', memoryTotal: 1 }], replica: 0, key: 'cpu:0' }];
  assert.throws(
    () => planWorkerCpus([{ model, placements }], { allowed: [0, 1] }, { PATH: '/nonexistent' }),
    (err: unknown) => err instanceof GpupoolError && err.code === 'GPUPOOL_E_COMMAND_NOT_FOUND' && /taskset/.test(err.message) && /cpus: none/.test(err.message),
  );
  assert.throws(
    () => resolveConfig({ models: { m: { command: ['python3', 'w.py'], cpus: 'numa' } } }, '/'),
    (err: unknown) => err instanceof GpupoolError && /cpus/.test(err.message) && /auto/.test(err.message) && /numa/.test(err.message),
  );
});
