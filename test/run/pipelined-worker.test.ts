// A launch/collect worker (ready.pipeline = 2) gets pipeline + 1 batches in flight even when
// the config says in_flight: 1, so batch k+1 is always launched before batch k is collected;
// with plain predict and in_flight: 1 it never would be. Every item is answered exactly once.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { pyWorker, readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

const COUNT = 3000;

test('a pipelined worker is sent enough batches to keep two launched, and every item comes back once', async () => {
  const dir = tempDir('gpupool-pipelined-');
  const config = writeConfig(dir, `models:\n  m:\n    command: ${pyWorker('pipelined_worker.py')}\n    devices: cpu\n    batch: { max: 16, timeout: 2ms, in_flight: 1 }\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), COUNT, (i) => ({ v: i }));
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = readOutput(out) as { id: number; output: { v: number; open: number } }[];
  assert.equal(lines.length, COUNT);
  assert.equal(new Set(lines.map((l) => l.id)).size, COUNT);
  for (const l of lines) assert.equal(l.output.v, l.id - 1);
  const opens = lines.map((l) => l.output.open);
  assert.ok(opens.every((o) => o === 1 || o === 2), `open counts ${[...new Set(opens)].join(',')}`);
  // The reader fills the queue while the worker starts, so the first batches go out together
  // and at least the first collect sees its successor launched.
  assert.ok(opens.includes(2), 'no batch was ever launched before the previous one was collected');
});
