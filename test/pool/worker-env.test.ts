// A worker's environment (src/pool/worker-env.ts): a config that sets PYTHONPATH for its model's
// own libraries keeps the SDK importable. Before, `env: {PYTHONPATH: …}` replaced the SDK's
// folder and every Python SDK worker failed to start: "No module named 'gpupool'".
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { resolveConfig } from '../../src/config/index.js';
import { CpuProvider } from '../../src/devices/index.js';
import { pythonSdkPath } from '../../src/pool/package-root.js';
import { workerEnv } from '../../src/pool/worker-env.js';
import { readOutput, ROOT, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

const model = (env: Record<string, string>) => resolveConfig({ models: { m: { command: ['python3', 'w.py'], devices: 'cpu', env } } }, ROOT).models.m;

test('PYTHONPATH: the SDK first, then the model\'s own where env sets one, else the inherited one', async () => {
  const cpu = await new CpuProvider().list();
  const base = { PYTHONPATH: '/inherited', PATH: '/usr/bin' };
  assert.equal(workerEnv(model({}), cpu, 'm/cpu/0', undefined, base).PYTHONPATH, `${pythonSdkPath()}${path.delimiter}/inherited`);
  assert.equal(workerEnv(model({ PYTHONPATH: '/opt/mylibs' }), cpu, 'm/cpu/0', undefined, base).PYTHONPATH, `${pythonSdkPath()}${path.delimiter}/opt/mylibs`);
  assert.equal(workerEnv(model({}), cpu, 'm/cpu/0', undefined, { PATH: '/usr/bin' }).PYTHONPATH, pythonSdkPath());
  assert.equal(workerEnv(model({ OTHER: 'x' }), cpu, 'm/cpu/0', undefined, base).OTHER, 'x', 'other env entries still come last');
});

test('a run whose config sets PYTHONPATH: its worker imports both the SDK and a module from that path', async () => {
  const dir = tempDir();
  const libs = path.join(dir, 'mylibs');
  fs.mkdirSync(libs);
  fs.writeFileSync(path.join(libs, 'mylib.py'), 'ANSWER = 42\n');
  fs.writeFileSync(path.join(dir, 'w.py'), 'import gpupool, mylib\n\nclass W(gpupool.Worker):\n    def predict(self, batch):\n        return [mylib.ANSWER for _ in batch]\n\ngpupool.serve(W)\n');
  const config = writeConfig(dir, `models:\n  m:\n    command: [python3, w.py]\n    devices: cpu\n    env: { PYTHONPATH: ${JSON.stringify(libs)} }\n`);
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', writeJsonl(path.join(dir, 'in.jsonl'), 3), '-o', out, '--progress', 'none']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readOutput(out).map((l) => l.output), [42, 42, 42]);
});
