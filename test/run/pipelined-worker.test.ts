// A worker that says ready.pipeline = 2 gets pipeline + 1 batches in flight even when the
// config says in_flight: 1, so batch k+1 is always started before batch k is answered; with
// in_flight: 1 and no pipeline it never would be. Every item is answered exactly once.
//  - Python SDK: launch/collect (batch k+1 launched before batch k is collected);
//  - TypeScript SDK: `pipeline: 2` with an asynchronous predict (two predicts at once).
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pyWorker, readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

const TS_WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ts-pipelined-worker.mjs');
const COUNT = 3000;

async function runPipelined(command: string, env = '') {
  const dir = tempDir('gpupool-pipelined-');
  const config = writeConfig(dir, `models:\n  m:\n    command: ${command}\n    devices: cpu\n    batch: { max: 16, timeout: 2ms, in_flight: 1 }${env}\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), COUNT, (i) => ({ v: i }));
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = readOutput(out) as { id: number; output: Record<string, number> }[];
  assert.equal(lines.length, COUNT);
  assert.equal(new Set(lines.map((l) => l.id)).size, COUNT);
  for (const l of lines) assert.equal(l.output.v, l.id - 1);
  return lines.map((l) => l.output);
}

test('Python launch/collect worker: sent enough batches to keep two launched; every item comes back once', async () => {
  const opens = (await runPipelined(pyWorker('pipelined_worker.py'))).map((o) => o.open);
  assert.ok(opens.every((o) => o === 1 || o === 2), `open counts ${[...new Set(opens)].join(',')}`);
  // The reader fills the queue while the worker starts, so the first batches go out together
  // and at least the first collect sees its successor launched.
  assert.ok(opens.includes(2), 'no batch was ever launched before the previous one was collected');
});

test('TypeScript worker with pipeline: 2: two asynchronous predicts run at once; every item comes back once', async () => {
  const concurrent = (await runPipelined(`[node, ${JSON.stringify(TS_WORKER)}]`)).map((o) => o.concurrent);
  assert.ok(concurrent.every((c) => c === 1 || c === 2), `concurrency ${[...new Set(concurrent)].join(',')}`);
  assert.ok(concurrent.includes(2), 'predict never ran twice at once');
});

test('TypeScript worker without pipeline: one predict at a time', async () => {
  const concurrent = (await runPipelined(`[node, ${JSON.stringify(TS_WORKER)}]`, '\n    env: { PIPELINE: "1" }')).map((o) => o.concurrent);
  assert.deepEqual([...new Set(concurrent)], [1]);
});

test('TypeScript worker with pipeline: 2: a rejected predict fails its batch alone; bisection leaves the bad items failed, the rest done', async () => {
  const dir = tempDir('gpupool-pipelined-');
  const config = writeConfig(dir, `models:\n  m:\n    command: [node, ${JSON.stringify(TS_WORKER)}]\n    devices: cpu\n    batch: { max: 16, timeout: 2ms }\n`);
  const bad = (i: number) => i % 97 === 5;
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 500, (i) => (bad(i) ? { v: i, fail: `bad ${i}` } : { v: i }));
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
  assert.equal(r.code, 1, r.stderr);
  const lines = readOutput(out) as { id: number; output?: { v: number }; error?: { message: string } }[];
  assert.equal(lines.length, 500);
  for (const l of lines) {
    if (bad(l.id - 1)) assert.match(l.error?.message ?? '', new RegExp(`bad ${l.id - 1}`));
    else assert.equal(l.output?.v, l.id - 1);
  }
});

/** The TypeScript worker started with `env` (YAML flow map) must fail to start, its error matching `message`. */
async function refusedAtStart(env: string, message: RegExp) {
  const dir = tempDir('gpupool-pipelined-');
  const config = writeConfig(dir, `models:\n  m:\n    command: [node, ${JSON.stringify(TS_WORKER)}]\n    devices: cpu\n    env: ${env}\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 3, (i) => ({ v: i }));
  const r = await runCli(['run', '-c', config, '-i', input, '-o', path.join(dir, 'out.jsonl'), '--progress', 'none']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, message);
}

test('TypeScript worker with pipeline: 9: refused at start, naming the allowed range', async () => {
  await refusedAtStart('{ PIPELINE: "9" }', /pipeline must be an integer from 1 to 8, not 9/);
});

test('TypeScript worker with GPUPOOL_SPIN_US that is not whole microseconds: refused at start, naming the value', async () => {
  await refusedAtStart('{ GPUPOOL_SPIN_US: "1.5" }', /GPUPOOL_SPIN_US="1\.5": expected whole microseconds from 0 \(no polling\) to 1000000/);
});

test('TypeScript worker polling 0 and 5000 µs between batches: every item comes back once either way', async () => {
  for (const spin of ['0', '5000']) await runPipelined(`[node, ${JSON.stringify(TS_WORKER)}]`, `\n    env: { PIPELINE: "1", GPUPOOL_SPIN_US: "${spin}" }`);
});
