// `gpupool run` cannot send items to an off-the-shelf server: a `kind: http` model is one
// clear config error, before anything starts (not a worker that dies on "{port}").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';
import { SERVER } from './helpers.js';

test('gpupool run refuses a kind: http model with GPUPOOL_E_CONFIG naming it', async () => {
  const dir = tempDir();
  const config = writeConfig(dir, `models:\n  echo:\n    kind: http\n    command: [python3, ${JSON.stringify(SERVER)}, --port, "{port}"]\n    devices: cpu\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3);
  const r = await runCli(['run', '-c', config, '-i', input, '-o', path.join(dir, 'out.jsonl')]);
  assert.equal(r.code, 3, r.stderr);
  assert.match(
    r.stderr,
    /gpupool: GPUPOOL_E_CONFIG: model "echo" has `kind: http`: it is an off-the-shelf server that only `gpupool serve` runs \(proxied at \/v1\/models\/echo\/…\), not a worker items can be sent to; batch jobs need a `kind: process` model\./,
  );
});
