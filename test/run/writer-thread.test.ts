// The JSONL writer thread on its own: a write error comes back with its system code and fails
// only that write; the setting's values; closing fails what still waits; an unclosed thread
// does not hold the process open.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { LineWriterThread, wantsWriterThread, writerThreadSetting, type StagedGroup } from '../../src/run/writer/index.js';
import { ROOT, tempDir } from '../helpers/cli.js';

/** Two finished lines, then a span of three lines made by the thread from its outputs. */
function group(): StagedGroup {
  const text = '{"id":"a","output":1}\n7,"x",[2]';
  const bytes = Buffer.allocUnsafeSlow(text.length);
  bytes.write(text);
  const at = text.indexOf('7');
  // Views of longer arrays, as the sink hands them over: they come back whole.
  const spans = new Float64Array(16);
  spans.set([at, text.length, 98, 3]);
  const bounds = new Uint32Array(64);
  bounds.set([at, at + 1, at + 2, at + 5, at + 6, at + 9]);
  return { bytes, used: text.length, spans: spans.subarray(0, 4), bounds: bounds.subarray(0, 6) };
}

test('the writer thread makes a span\'s lines and writes the group at the position given; a write error comes back with its code and fails that write alone', async () => {
  const dir = tempDir('gpupool-writer-');
  const file = path.join(dir, 'out.jsonl');
  fs.writeFileSync(file, 'KEEP\n');
  const writer = new LineWriterThread();
  try {
    const fd = fs.openSync(file, 'r+');
    const written = await writer.write(fd, 5, group());
    const expected = '{"id":"a","output":1}\n{"id":98,"output":7}\n{"id":99,"output":"x"}\n{"id":100,"output":[2]}\n';
    assert.equal(written.length, Buffer.byteLength(expected));
    assert.ok(written.bytes.length >= 30, 'the staging bytes come back for the next group');
    assert.deepEqual([written.spans.length, written.bounds.length], [16, 64], 'the staging arrays come back whole');
    assert.equal(fs.readFileSync(file, 'utf8'), 'KEEP\n' + expected);
    // A descriptor open for reading only: the thread's write fails with EBADF, and the thread goes on.
    const readOnly = fs.openSync(file, 'r');
    await assert.rejects(writer.write(readOnly, 0, group()), (err: NodeJS.ErrnoException) => err.code === 'EBADF' && /bad file descriptor/.test(err.message));
    assert.equal((await writer.write(fd, 5, group())).length, written.length);
    fs.closeSync(readOnly);
    fs.closeSync(fd);
  } finally {
    await writer.close();
  }
  await assert.rejects(writer.write(1, 0, group()), /writer thread was closed/);
});

test('GPUPOOL_WRITER_THREAD: auto (on from 4 CPUs), on or off; anything else names the value and what is allowed', () => {
  assert.equal(writerThreadSetting({}), 'auto');
  assert.equal(writerThreadSetting({ GPUPOOL_WRITER_THREAD: 'on' }), 'on');
  assert.equal(wantsWriterThread('auto', 2), false);
  assert.equal(wantsWriterThread('auto', 4), true);
  assert.equal(wantsWriterThread('off', 64), false);
  assert.throws(() => writerThreadSetting({ GPUPOOL_WRITER_THREAD: '1' }), /GPUPOOL_WRITER_THREAD="1" is not allowed: auto \(a thread from 4 CPUs up\), on or off/);
});

test('a write still waiting when the thread is closed fails; a thread never closed does not hold the process open', async () => {
  const dir = tempDir('gpupool-writer-');
  const fd = fs.openSync(path.join(dir, 'out.jsonl'), 'w');
  const writer = new LineWriterThread();
  // A group of 2 million lines takes the thread a while to make: closing now catches the write waiting.
  const n = 2_000_000;
  const bytes = Buffer.allocUnsafeSlow(2 * n);
  bytes.fill('1,');
  const bounds = new Uint32Array(2 * n);
  for (let k = 0; k < n; k++) [bounds[2 * k], bounds[2 * k + 1]] = [2 * k, 2 * k + 1];
  const waiting = writer.write(fd, 0, { bytes, used: 2 * n, spans: Float64Array.of(0, 2 * n, 1, n), bounds });
  await writer.close();
  await assert.rejects(waiting, /writer thread was closed before the write ended/);
  fs.closeSync(fd);
  // A process that made a writer thread and never closed it exits by itself.
  const started = Date.now();
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `import { LineWriterThread } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'src/run/writer/index.ts')).href)}; new LineWriterThread(); console.log('made');`], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  assert.equal(child.status, 0, `${child.signal ?? ''} ${child.stderr}`);
  assert.equal(child.stdout.trim(), 'made');
  assert.ok(Date.now() - started < 20_000);
});

test('a writer thread whose module is missing says so through `started` (the run stops on it before any worker starts); one that runs settles it', async () => {
  const missing = new LineWriterThread('no-such-writer-thread');
  await assert.rejects(missing.started, /no-such-writer-thread|Cannot find module/);
  await missing.close();
  const writer = new LineWriterThread();
  await writer.started;
  await writer.close();
});
