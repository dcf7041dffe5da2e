// A JSONL file's last line that has no line end and is not whole JSON (a producer appending to
// the file is still writing it) is left for the next run, which runs it once it is written: the
// run exits 16 saying so, and neither runs it as malformed nor refuses the file once it is whole.
// A last line without its line end that is whole JSON runs; so does any last line of a `serve` job.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { unfinishedLastLine } from '../../src/run/index.js';
import { pyWorker, readOutput, runCli, tempDir, writeConfig } from '../helpers/cli.js';

function fileOf(text: string | Buffer): string {
  const file = path.join(tempDir(), 'in.jsonl');
  fs.writeFileSync(file, text);
  return file;
}

const heldBackOf = (text: string | Buffer) => {
  const file = fileOf(text);
  return unfinishedLastLine(file, fs.statSync(file).size);
};

test('unfinishedLastLine: only a last line without its line end that is not whole JSON', () => {
  assert.equal(heldBackOf(''), undefined);
  assert.equal(heldBackOf('{"a":1}\n{"b":2}\n'), undefined, 'ends with a line end');
  assert.equal(heldBackOf('{"a":1}\n{"b":2}'), undefined, 'whole JSON without a line end: it runs');
  assert.equal(heldBackOf('{"a":1}\n{"b":2}\r'), undefined, 'a CR is no part of a line');
  assert.equal(heldBackOf('{"a":1}\n   '), undefined, 'blank: not an input');
  assert.deepEqual(heldBackOf('{"a":1}\n{"b": "te'), { at: 8, bytes: 9, head: '{"b": "te' });
  assert.deepEqual(heldBackOf('\ufeff{"only": '), { at: 0, bytes: 3 + 9, head: '{"only": ' }, 'the only line, after a byte order mark');
  // A multi-byte character cut in two is not whole either.
  const cut = Buffer.concat([Buffer.from('{"a":1}\n{"s":"'), Buffer.from('é').subarray(0, 1)]);
  assert.equal(heldBackOf(cut)?.at, 8);
  // A line longer than one backward read (64 KiB), after lines that are too.
  const long = `{"x":"${'a'.repeat(100_000)}"}\n`;
  const partial = `{"y":"${'b'.repeat(150_000)}`;
  assert.deepEqual(heldBackOf(long + long + partial), { at: 2 * long.length, bytes: partial.length, head: partial.slice(0, 40) });
});

for (const reader of ['off', 'on'] as const) {
  test(`a run leaves an unfinished last line for the next, which runs it once written, each id once (reader thread ${reader})`, async () => {
    const dir = tempDir();
    const input = path.join(dir, 'in.jsonl');
    fs.writeFileSync(input, '{"v":1}\n{"v":2}\n{"v":3, "te');
    const out = path.join(dir, 'out.jsonl');
    const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n`);
    const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json'];
    const env = { ...process.env, GPUPOOL_READER_THREAD: reader };

    const first = await runCli(args, { env });
    assert.equal(first.code, 16, first.stderr);
    assert.match(first.stderr, /GPUPOOL_E_INPUT_UNFINISHED: the last line of .*in\.jsonl \(11 bytes from byte 16: "\{\\"v\\":3, \\"te"\) has no line end and is not whole JSON: a producer may still be writing it, so it was left for the next run/);
    assert.deepEqual((JSON.parse(first.stdout) as { heldBack: unknown }).heldBack, { at: 16, bytes: 11, head: '{"v":3, "te' });
    assert.deepEqual(readOutput(out).map((l) => l.id), [1, 2], 'the unfinished line is neither run nor failed');
    assert.match((await runCli(['status', out])).stdout, /^input: its last line \(11 bytes from byte 16\) had no line end and was not whole JSON: it was left for the next run/m);
    assert.deepEqual((JSON.parse((await runCli(['status', out, '--json'])).stdout) as { inputHeldBack: unknown }).inputHeldBack, { at: 16, bytes: 11 });

    // Not written yet: the same again, nothing run twice.
    const again = await runCli(args, { env });
    assert.equal(again.code, 16, again.stderr);
    assert.deepEqual(readOutput(out).map((l) => l.id), [1, 2]);

    // The producer writes more of it, not all: it grew, so it resumes, and still waits.
    fs.appendFileSync(input, 'xt":');
    assert.equal((await runCli(args, { env })).code, 16);

    // Written, and a line after it: both run, as they are now.
    fs.appendFileSync(input, '"ok"}\n{"v":4}\n');
    const whole = await runCli(args, { env });
    assert.equal(whole.code, 0, whole.stderr);
    assert.deepEqual(
      readOutput(out).map((l) => [l.id, l.output ?? l.error]),
      [[1, { v: 1 }], [2, { v: 2 }], [3, { v: 3, text: 'ok' }], [4, { v: 4 }]],
    );
    assert.doesNotMatch((await runCli(['status', out])).stdout, /^input:/m);
  });
}

test('a malformed last line without its line end, in a file that is complete: left with exit 16 until fixed, then it runs', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"v":1}\n{"v":2,}');
  const out = path.join(dir, 'out.jsonl');
  const config = writeConfig(dir, `models:\n  echo:\n    command: ${pyWorker('noop_worker.py')}\n    devices: cpu\n`);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'];
  const first = await runCli(args);
  assert.equal(first.code, 16, first.stderr);
  assert.match(first.stderr, /if the file is complete, end or fix that line/);
  fs.writeFileSync(input, '{"v":1}\n{"v":2}');
  const fixed = await runCli(args);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.deepEqual(readOutput(out).map((l) => [l.id, l.output]), [[1, { v: 1 }], [2, { v: 2 }]]);
});
