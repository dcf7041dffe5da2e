// A JSONL file's last line that has no line end and is not whole JSON (a producer appending to
// the file is still writing it) is left for the next run, which runs it once it is written: the
// run exits 16 saying so, and neither runs it as malformed nor refuses the file once it is whole.
// A last line without its line end that is whole JSON runs; so does any last line of a `serve` job.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { unfinishedLastLine } from '../../src/run/index.js';
import { echoConfig, readOutput, runCli, tempDir } from '../helpers/cli.js';

function fileOf(text: string | Buffer): string {
  const file = path.join(tempDir(), 'in.jsonl');
  fs.writeFileSync(file, text);
  return file;
}

const heldBackOf = (text: string | Buffer) => {
  const file = fileOf(text);
  return unfinishedLastLine(file, fs.statSync(file).size);
};

test('unfinishedLastLine: a last line without its line end that is not whole JSON, a number, or blank', () => {
  assert.equal(heldBackOf(''), undefined);
  assert.equal(heldBackOf('{"a":1}\n{"b":2}\n'), undefined, 'ends with a line end');
  assert.equal(heldBackOf('{"a":1}\n{"b":2}'), undefined, 'whole JSON without a line end: it runs');
  assert.equal(heldBackOf('{"a":1}\n{"b":2}\r'), undefined, 'a CR is no part of a line');
  assert.equal(heldBackOf('{"a":1}\n"a string"'), undefined, 'a string, object, array or literal cannot grow and stay one');
  assert.equal(heldBackOf('{"a":1}\ntrue'), undefined);
  assert.deepEqual(heldBackOf('{"a":1}\n{"b": "te'), { at: 8, bytes: 9, head: '{"b": "te', blank: false });
  assert.deepEqual(heldBackOf('1\n2\n12'), { at: 4, bytes: 2, head: '12', blank: false }, 'a number may be the start of a longer one');
  assert.equal(heldBackOf('1\n2\n12 '), undefined, 'a number ended by a blank cannot grow');
  assert.deepEqual(heldBackOf('\ufeff{"only": '), { at: 0, bytes: 3 + 9, head: '{"only": ', blank: false }, 'the only line, after a byte order mark');
  // Blanks, or a byte order mark alone: not an input, left out so that what comes next is read whole.
  assert.deepEqual(heldBackOf('{"a":1}\n  '), { at: 8, bytes: 2, head: '  ', blank: true });
  assert.deepEqual(heldBackOf('\ufeff'), { at: 0, bytes: 3, head: '', blank: true });
  // A multi-byte character cut in two is not whole either.
  const cut = Buffer.concat([Buffer.from('{"a":1}\n{"s":"'), Buffer.from('é').subarray(0, 1)]);
  assert.equal(heldBackOf(cut)?.at, 8);
  // A line longer than one backward read (64 KiB), after lines that are too.
  const long = `{"x":"${'a'.repeat(100_000)}"}\n`;
  const partial = `{"y":"${'b'.repeat(150_000)}`;
  assert.deepEqual(heldBackOf(long + long + partial), { at: 2 * long.length, bytes: partial.length, head: `${partial.slice(0, 40)}…`, blank: false });
});

for (const reader of ['off', 'on'] as const) {
  test(`a run leaves an unfinished last line for the next, which runs it once written, each id once (reader thread ${reader})`, async () => {
    const dir = tempDir();
    const input = path.join(dir, 'in.jsonl');
    fs.writeFileSync(input, '{"v":1}\n{"v":2}\n{"v":3, "te');
    const out = path.join(dir, 'out.jsonl');
    const config = echoConfig(dir);
    const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none', '--json'];
    const env = { ...process.env, GPUPOOL_READER_THREAD: reader };

    const first = await runCli(args, { env });
    assert.equal(first.code, 16, first.stderr);
    assert.match(first.stderr, /GPUPOOL_E_INPUT_UNFINISHED: the last line of .*in\.jsonl \(line 3, 11 bytes from byte 16: "\{\\"v\\":3, \\"te"\) has no line end and may be unfinished \(it is not whole JSON, or is a number, which may still grow\): a producer may still be writing it, so it was left for the next run/);
    assert.deepEqual((JSON.parse(first.stdout) as { heldBack: unknown }).heldBack, { at: 16, bytes: 11, head: '{"v":3, "te', blank: false, line: 3 });
    assert.deepEqual(readOutput(out).map((l) => l.id), [1, 2], 'the unfinished line is neither run nor failed');
    const status = (await runCli(['status', out])).stdout;
    assert.match(status, /^state: finished but for its last line, which waits \(input: below\); 2 done, 0 failed of 2$/m);
    assert.match(status, /^input: its last line \(11 bytes from byte 16\) has no line end and may be unfinished: the runs leave it for the next run; once it is written, the same command runs it$/m);
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
  const config = echoConfig(dir);
  const args = ['run', '-c', config, '-i', input, '-o', out, '--progress', 'none'];
  const first = await runCli(args);
  assert.equal(first.code, 16, first.stderr);
  assert.match(first.stderr, /if the file is complete, end or fix that line/);
  fs.writeFileSync(input, '{"v":1}\n{"v":2}');
  const fixed = await runCli(args);
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.deepEqual(readOutput(out).map((l) => [l.id, l.output]), [[1, { v: 1 }], [2, { v: 2 }]]);
});

/** A folder of its own with `in.jsonl` (not written yet) and the `gpupool run` args over it into `out.jsonl`. */
function echoRun(): { input: string; out: string; args: string[] } {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  const out = path.join(dir, 'out.jsonl');
  return { input, out, args: ['run', '-c', echoConfig(dir), '-i', input, '-o', out, '--progress', 'none'] };
}

test('a last number without its line end waits (it may grow); blanks without one are left out without a word, and what follows them is read whole', async () => {
  const { input, out, args } = echoRun();
  fs.writeFileSync(input, '1\n2\n12');
  assert.equal((await runCli(args)).code, 16);
  fs.appendFileSync(input, '3\n  ');
  const blank = await runCli(args);
  assert.equal(blank.code, 0, blank.stderr);
  assert.doesNotMatch(blank.stderr, /UNFINISHED/);
  fs.appendFileSync(input, '  4\n');
  const after = await runCli(args);
  assert.equal(after.code, 0, after.stderr);
  assert.deepEqual(readOutput(out).map((l) => [l.id, l.output]), [[1, 1], [2, 2], [3, 123], [4, 4]]);
});

test('a file whose last line ran without a line end, then gained bytes that continue it, is refused for that, not for its size', async () => {
  const { input, args } = echoRun();
  fs.writeFileSync(input, '{"a":1}\n{"b":1}');
  assert.equal((await runCli(args)).code, 0);
  fs.appendFileSync(input, ' {"d":');
  const refused = await runCli(args);
  assert.equal(refused.code, 10);
  assert.match(refused.stderr, /why: its last line read before, at 15 bytes, had no line end, and the bytes after it are not blanks up to one: they changed that line/);
});

test('--on-error stop before the read reached an unfinished last line: exit 9, and nothing said of that line', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, 'not json\n{"v":2}\n{"v":3, "te');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', path.join(dir, 'out.jsonl'), '--progress', 'none', '--json', '--on-error', 'stop']);
  assert.equal(r.code, 9, r.stderr);
  assert.equal((JSON.parse(r.stdout) as { heldBack?: unknown }).heldBack, undefined);
  assert.doesNotMatch(r.stderr, /UNFINISHED/);
});

test('a last line that ran without its line end, then blanks (a CR, a space) with or without the line end: the file only grew, and resumes', async () => {
  const { input, out, args } = echoRun();
  fs.writeFileSync(input, '{"a":1}');
  assert.equal((await runCli(args)).code, 0);
  fs.appendFileSync(input, '\r'); // a CRLF producer cut between its CR and LF
  assert.match((await runCli(['status', out])).stdout, /the same command resumes it/);
  const cr = await runCli(args);
  assert.equal(cr.code, 0, cr.stderr);
  fs.appendFileSync(input, ' \t\n{"a":2}\r\n');
  const grown = await runCli(args);
  assert.equal(grown.code, 0, grown.stderr);
  assert.deepEqual(readOutput(out).map((l) => [l.id, l.output]), [[1, { a: 1 }], [2, { a: 2 }]]);
});

test('items failed and a last line held back: exit 1, and the one line said (without a progress display) tells why it is not 16', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"a":1}\nbad\n{"a":3');
  const r = await runCli(['run', '-c', echoConfig(dir), '-i', input, '-o', path.join(dir, 'out.jsonl'), '--progress', 'none']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /GPUPOOL_E_INPUT_UNFINISHED: .*; the exit status is 1, not 16: 1 item failed \(their error lines are in the output\)$/m);
});

test('--shard I/N: only the shard whose share the held-back line is in says so and exits 16', async () => {
  const dir = tempDir();
  const input = path.join(dir, 'in.jsonl');
  fs.writeFileSync(input, '{"v":1}\n{"v":2}\n\n{"v":4}\n{"v":5, "te'); // line 5, a blank line before: seq 4, shard 0 of 2
  const config = echoConfig(dir);
  const shard = (i: number) => runCli(['run', '-c', config, '-i', input, '-o', path.join(dir, `out-${i}.jsonl`), '--shard', `${i}/2`, '--progress', 'none', '--json']);
  const [own, other] = [await shard(0), await shard(1)];
  assert.equal(own.code, 16, own.stderr);
  assert.match(own.stderr, /\(line 5, 11 bytes from byte 25: /);
  assert.equal(other.code, 0, other.stderr);
  assert.equal((JSON.parse(other.stdout) as { heldBack?: unknown }).heldBack, undefined);
  assert.doesNotMatch(other.stderr, /UNFINISHED/);
  // status says the same: the line waits in shard 0's job, not in shard 1's.
  assert.match((await runCli(['status', path.join(dir, 'out-0.jsonl')])).stdout, /^input: its last line \(line 5, 11 bytes from byte 25\) has no line end/m);
  const otherStatus = (await runCli(['status', path.join(dir, 'out-1.jsonl')])).stdout;
  assert.doesNotMatch(otherStatus, /^input:/m);
  assert.match(otherStatus, /^state: finished;/m);
});
