// A worker that breaks the protocol (docs/protocol.md) is restarted and its items end as
// GPUPOOL_E_WORKER_PROTOCOL, with a message that says what was wrong: the run ends (no batch is
// lost, nothing waits for batch.deadline) and gpupool does not crash. A raw worker (no SDK):
// fixtures/raw_misbehaving_worker.py.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { readOutput, runCli, tempDir, writeConfig, writeJsonl } from '../helpers/cli.js';

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'raw_misbehaving_worker.py');

async function runWith(mode: string, count = 5, batch = '') {
  const dir = tempDir('gpupool-proto-');
  // batch.deadline stays at its default (10 minutes) unless `batch` sets it: a batch left unanswered would hold the run past the test's time.
  const config = writeConfig(dir, `models:\n  m:\n    command: [python3, ${JSON.stringify(WORKER)}]\n    devices: cpu\n    max_attempts: 1\n    batch: { max: 4, timeout: 2ms${batch} }\n    restart: { backoff: 10ms, max_start_failures: 2 }\n    env: { MODE: ${mode} }\n`);
  const input = writeJsonl(path.join(dir, 'in.jsonl'), count);
  const out = path.join(dir, 'out.jsonl');
  const r = await runCli(['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'], { timeoutMs: 30_000 });
  return { r, out, logs: path.join(dir, '.gpupool', 'out.jsonl', 'logs') };
}

function assertEveryItemProtocolError(out: string, count: number, message: RegExp): void {
  const lines = readOutput(out);
  assert.deepEqual(lines.map((l) => l.id).sort((a, b) => Number(a) - Number(b)), Array.from({ length: count }, (_, i) => i + 1));
  for (const line of lines) {
    assert.equal(line.error?.code, 'GPUPOOL_E_WORKER_PROTOCOL', JSON.stringify(line));
    assert.match(line.error.message, message);
  }
}

test('a result whose outputs is not a list: its batch goes back to the queue (it was lost, and the run never ended)', async () => {
  const { r, out } = await runWith('outputs_not_list');
  assert.equal(r.signal, null, `the run hung: ${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  assertEveryItemProtocolError(out, 5, /result 1 has no outputs array/);
});

test('a result_lines header with no lines after it is a protocol error, not a crash of gpupool', async () => {
  const { r, out } = await runWith('lines_no_body');
  assert.doesNotMatch(r.stderr, /TypeError/);
  assert.equal(r.code, 1, r.stderr);
  assertEveryItemProtocolError(out, 5, /result_lines 1: no outputs after the header/);
});

test('a frame without "type" is a protocol error, not a message ignored while its batch waits for batch.deadline', async () => {
  const { r, out } = await runWith('no_type');
  assert.equal(r.signal, null, `the run hung: ${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  assertEveryItemProtocolError(out, 5, /a frame has no "type"/);
});

test('an answer whose id is the batch id as a string: the message says the id must be the number', async () => {
  const { r, out } = await runWith('string_id', 2);
  assert.equal(r.code, 1, r.stderr);
  assertEveryItemProtocolError(out, 2, /result for batch "1": an id is the batch's number/);
});

test('a hello whose devices is not a list: the worker fails to start, saying why (gpupool crashed with a TypeError)', async () => {
  const { r } = await runWith('devices_not_list');
  assert.doesNotMatch(r.stderr, /TypeError/);
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /GPUPOOL_E_WORKER_START: .*protocol error: hello's "devices" must be a list of objects/);
});

test('a hello of another protocol version: the worker fails to start, naming both versions (it was not checked, and its frames would have been misread)', async () => {
  const { r, out } = await runWith('protocol_2');
  assert.equal(r.code, 6, r.stderr);
  assert.match(r.stderr, /GPUPOOL_E_WORKER_START: .*protocol error: hello says protocol 2; this gpupool speaks protocol 1/);
  assert.equal(fs.existsSync(out) ? readOutput(out).length : 0, 0, 'no item ran on it');
});

test('frames printed to stdout: a start fails at once, and a batch fails as a protocol error, both saying where frames go (they waited 10 minutes, or batch.deadline, in silence)', async () => {
  const started = Date.now();
  const { r: start } = await runWith('stdout_ready');
  assert.equal(start.code, 6, start.stderr);
  assert.match(start.stderr, /GPUPOOL_E_WORKER_START: .*protocol error: the worker wrote a hello frame to stdout \("\{\\"type\\": \\"hello\\".*\): frames go on file descriptor 3 \(GPUPOOL_PROTOCOL_FD\)/);
  assert.ok(Date.now() - started < 20_000, 'not after start_timeout');
  const { r, out } = await runWith('stdout_result', 3);
  assert.equal(r.signal, null, `the run hung: ${r.stderr}`);
  assert.equal(r.code, 1, r.stderr);
  assertEveryItemProtocolError(out, 3, /the worker wrote a result frame to stdout \("\{'type': 'result', 'id': \d+/);
});

test('a frame of an unknown type is ignored, as the protocol says, but the worker log says so once (a typo left its batch to batch.deadline without a word)', async () => {
  const { r, out, logs } = await runWith('typo_type', 1, ', deadline: 1s');
  assert.equal(r.code, 1, r.stderr);
  assert.equal(readOutput(out)[0].error?.code, 'GPUPOOL_E_BATCH_DEADLINE');
  const log = fs.readdirSync(logs).map((f) => fs.readFileSync(path.join(logs, f), 'utf8')).join('');
  const notes = log.match(/ignored a frame of unknown type "reslt"/g) ?? [];
  assert.ok(notes.length >= 1, log);
  // Once per worker process, not once per frame: each start (the retry) notes it again.
  assert.ok(notes.length <= (log.match(/ready \(pid/g) ?? []).length, log);
});
