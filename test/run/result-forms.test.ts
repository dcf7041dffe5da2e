// Every answer form a worker may send (docs/protocol.md) gives the same output file: both SDKs'
// result_array (the TypeScript SDK's result_lines for a batch with item errors, or when only
// result_lines is offered), and their classic result when GPUPOOL_RESULT_FORMS is empty, as
// with an older gpupool. Outputs with commas, quotes, brackets and escapes inside strings must
// come through exactly.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { pyWorker, readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

const TS_WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ts-item-error-worker.mjs');
const TRICKY: unknown[] = [
  { text: 'a, b] c}, "quoted", back\\slash', nested: [1, [2, { three: [] }]], uni: 'h\u00e9 ✓ \u2028' },
  'just, a "string" ]',
  [],
  {},
  null,
  -1.5e-7,
  true,
];
const COUNT = 300;

function expected(i: number): unknown {
  return TRICKY[i % TRICKY.length];
}

for (const sdk of ['python', 'typescript'] as const) {
  for (const forms of ['default', 'lines', 'classic'] as const) {
    const what = { default: 'its fast answer form', lines: 'only result_lines offered', classic: 'the classic result (GPUPOOL_RESULT_FORMS empty)' }[forms];
    test(`${sdk} SDK, ${what}: every output exact, item errors alone`, async () => {
      const dir = tempDir('gpupool-forms-');
      const command = sdk === 'python' ? pyWorker('scripted_worker.py') : `[node, ${JSON.stringify(TS_WORKER)}]`;
      const env = { default: '', lines: '\n    env: { GPUPOOL_RESULT_FORMS: "result_lines" }', classic: '\n    env: { GPUPOOL_RESULT_FORMS: "" }' }[forms];
      const config = writeConfig(dir, `models:\n  m:\n    command: ${command}\n    devices: cpu\n    batch: { max: 16, timeout: 2ms }${env}\n`);
      const failing = (i: number) => i % 50 === 7;
      // Every other failing item carries the worker's own code, which its error line shows;
      // the others (and a code that is not a short tag) show gpupool's.
      const workerCode = (i: number) => (i % 100 === 7 ? 'EMPTY_IMAGE' : i % 150 === 57 ? 'not a tag: spaces' : undefined);
      const input = writeJsonl(path.join(dir, 'in.jsonl'), COUNT, (i) => {
        if (failing(i)) return sdk === 'python' ? { item_error: `bad ${i}`, code: workerCode(i) } : { fail: `bad ${i}`, code: workerCode(i) };
        return sdk === 'python' ? { echo: expected(i) } : (expected(i) as object);
      });
      const out = path.join(dir, 'out.jsonl');
      const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json']);
      assert.equal(r.code, 1, r.stderr); // the failing items make it 1
      // Retries would hide a misread answer (an item alone always decodes): none may happen.
      assert.doesNotMatch(r.stderr, /crashed|protocol error/);
      const lines = readOutput(out).sort((a, b) => Number(a.id) - Number(b.id));
      assert.equal(lines.length, COUNT);
      for (const [i, line] of lines.entries()) {
        assert.equal(line.id, i + 1);
        const code = workerCode(i) === 'EMPTY_IMAGE' ? 'EMPTY_IMAGE' : 'GPUPOOL_E_ITEM_FAILED';
        if (failing(i)) assert.deepEqual(line.error, { code, message: `bad ${i}` }, `line ${i + 1}`);
        else assert.deepEqual(line.output, expected(i), `line ${i + 1}`);
      }
    });
  }
}

test('a worker whose result_lines answer holds a line that is not JSON: the item fails as a protocol error, and the output file stays valid JSONL', async () => {
  const dir = tempDir('gpupool-forms-');
  // A raw protocol worker (no SDK): answers every batch with result_lines of LINE.
  const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'raw_misbehaving_worker.py');
  const input = writeJsonl(path.join(dir, 'in.jsonl'), 2);
  for (const line of ['', '{', 'hello', '1 2']) {
    const out = path.join(dir, `out-${Buffer.from(line).toString('hex')}.jsonl`);
    const config = writeConfig(dir, `models:\n  raw:\n    command: [python3, ${JSON.stringify(worker)}]\n    devices: cpu\n    max_attempts: 2\n    restart: { backoff: 10ms }\n    env: { MODE: bad_lines, LINE: ${JSON.stringify(line)} }\n`);
    const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none']);
    assert.equal(r.code, 1, `line ${JSON.stringify(line)}: ${r.stderr}`);
    const lines = readOutput(out); // each line parses: nothing half-written went in
    assert.deepEqual(lines.map((l) => [l.id, l.error?.code]).sort(), [[1, 'GPUPOOL_E_WORKER_PROTOCOL'], [2, 'GPUPOOL_E_WORKER_PROTOCOL']], `line ${JSON.stringify(line)}`);
    assert.match(lines[0].error!.message, /is not one JSON value/);
  }
});

test('Python SDK: a batch with an item error writes the other outputs as the worker wrote them (an integer above 2^53, a 1.0)', async () => {
  // It went as the classic result, which gpupool parses and writes again: 9223372036854775807
  // came out as 9223372036854776000 and 1.0 as 1, depending on which items shared the batch.
  const dir = tempDir('gpupool-forms-');
  const config = writeConfig(dir, `models:\n  m:\n    command: ${pyWorker('scripted_worker.py')}\n    devices: cpu\n    batch: { max: 16, timeout: 50ms }\n`);
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"echo": {"id64": 9223372036854775807, "score": 1.0}}\n{"item_error": "empty"}\n');
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none']);
  assert.equal(r.code, 1, r.stderr);
  const text = fs.readFileSync(out, 'utf8');
  assert.match(text, /^\{"id":1,"output":\{"id64":9223372036854775807,"score":1\.0\}\}$/m);
  assert.match(text, /^\{"id":2,"error":\{"code":"GPUPOOL_E_ITEM_FAILED","message":"empty"\}\}$/m);
});
