// Two workers written from docs/protocol.md alone, without a gpupool SDK: Python (stdlib, raw
// frames on fd 3) and Perl (core modules only). Each says hello and ready, uppercases its items,
// fails the item "bad" alone with a code of its own, answers a batch larger than OOM_OVER with
// `failed` kind "oom", and exits on `stop`. The Perl one reads ahead (holds several batches, so a
// stop may find some unanswered) and answers with result_lines, as GPUPOOL_RESULT_FORMS allows.
// Through the real CLI: every input line gives one output line, the worker's code comes back,
// the batch limit falls from batch.max to what fits, and an item that does not fit alone ends
// GPUPOOL_E_OUT_OF_MEMORY.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const COUNT = 400;
const isBad = (i: number) => i % 37 === 5;

for (const lang of ['python', 'perl'] as const) {
  const command = lang === 'python' ? ['python3', path.join(FIXTURES, 'raw_worker.py')] : ['perl', path.join(FIXTURES, 'raw_worker.pl')];
  test(`a ${lang} worker written from the protocol page alone: outputs, item errors with its code, OOM splitting, stop`, async () => {
    const dir = tempDir('gpupool-raw-');
    const config = writeConfig(dir, `models:\n  up:\n    command: ${JSON.stringify(command)}\n    devices: cpu\n    workers_per_device: 2\n    batch: { max: 64, timeout: 2ms }\n    env: { OOM_OVER: "8" }\n`);
    const input = writeJsonl(path.join(dir, 'in.jsonl'), COUNT, (i) => ({ text: isBad(i) ? 'bad' : `item ${i}` }));
    const out = path.join(dir, 'out.jsonl');
    const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json'], { timeoutMs: 60_000 });
    assert.equal(r.code, 1, r.stderr); // the "bad" items fail
    assert.doesNotMatch(r.stderr, /crashed|protocol error/);
    const summary = JSON.parse(r.stdout) as { done: number; failed: number; batchLimits: Record<string, number>; workerRestarts: number };
    const limit = summary.batchLimits['cpu:0'];
    assert.ok(limit >= 1 && limit <= 8, `the OOMs halved the limit from 64 to what fits, not ${limit}`);
    assert.equal(summary.workerRestarts, 0);
    const lines = readOutput(out).sort((a, b) => Number(a.id) - Number(b.id));
    assert.deepEqual(lines.map((l) => l.id), Array.from({ length: COUNT }, (_, i) => i + 1));
    for (const [i, line] of lines.entries()) {
      if (isBad(i)) assert.deepEqual(line.error, { code: 'BAD_INPUT', message: 'input says bad' }, `line ${i + 1}`);
      else assert.deepEqual(line.output, { upper: `ITEM ${i}` }, `line ${i + 1}`);
    }
    // Both workers were asked to stop and exited 0 on their own (no SIGTERM after the drain timeout).
    const logs = fs.readdirSync(path.join(dir, '.gpupool', 'out.jsonl', 'logs'));
    assert.equal(logs.length, 2);
    for (const log of logs) assert.match(fs.readFileSync(path.join(dir, '.gpupool', 'out.jsonl', 'logs', log), 'utf8'), /closed: exited with code 0 \(requested\)/);
  });
}

test('a raw worker whose every batch runs out of memory, even of one item: each item ends GPUPOOL_E_OUT_OF_MEMORY', async () => {
  const dir = tempDir('gpupool-raw-');
  const config = writeConfig(dir, `models:\n  up:\n    command: [python3, ${JSON.stringify(path.join(FIXTURES, 'raw_worker.py'))}]\n    devices: cpu\n    batch: { max: 4, timeout: 2ms }\n    env: { OOM_OVER: "0" }\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 6, (i) => ({ text: `item ${i}` }));
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'], { timeoutMs: 60_000 });
  assert.equal(r.code, 1, r.stderr);
  const lines = readOutput(out);
  assert.equal(lines.length, 6);
  for (const line of lines) assert.equal(line.error?.code, 'GPUPOOL_E_OUT_OF_MEMORY', JSON.stringify(line));
  assert.match(lines[0].error!.message, /pretend OOM|pretend out of memory/);
});

test('a worker that says "release": true in ready and never answers release: the run finishes, and the user is told once per worker why it waited', async () => {
  // gpupool waits for `released` 5 s at most (docs/protocol.md); with workers sharing a device
  // each heavy item costs such waits, and silently a run of 0.2 s took 55 s.
  const dir = tempDir('gpupool-raw-release-');
  const config = writeConfig(dir, `models:\n  r:\n    command: ["python3", ${JSON.stringify(path.join(FIXTURES, 'raw_misbehaving_worker.py'))}]\n    devices: cpu\n    workers_per_device: 2\n    batch: { max: 8, timeout: 2ms }\n    env: { MODE: silent_release, MARKER_DIR: ${JSON.stringify(dir)} }\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 60, (i) => ({ n: i, heavy: i === 20 }));
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'], { timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  const lines = readOutput(out);
  assert.deepEqual(lines.map((l) => l.id).sort((a, b) => Number(a) - Number(b)), Array.from({ length: 60 }, (_, i) => i + 1));
  const told = r.stderr.match(/^gpupool: worker r\/cpu:0\/\d said "release": true in ready but left a "release" unanswered for 5 s: .*$/gm) ?? [];
  assert.ok(told.length >= 1, r.stderr);
  assert.equal(new Set(told).size, told.length, `once per worker: ${r.stderr}`);
  const logs = fs.readdirSync(path.join(dir, '.gpupool', 'out.jsonl', 'logs')).map((f) => fs.readFileSync(path.join(dir, '.gpupool', 'out.jsonl', 'logs', f), 'utf8')).join('');
  assert.match(logs, /"release" unanswered after 5 s/);
});
