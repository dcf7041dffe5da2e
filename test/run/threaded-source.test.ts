// The JSONL reader thread: the same records as the main-thread reader (the run's resume relies on
// it), bounded read-ahead, errors that keep their system code, and a stop that ends the thread.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { JsonlSource, ThreadedJsonlSource, READ_AHEAD_CHUNKS, inputReadError, readerThreadSetting, wantsReaderThread, type InputRecord, type SpanRecord } from '../../src/run/index.js';
import { packBatch, unpackBatch } from '../../src/run/sources/packed-batch.js';
import { GpupoolError } from '../../src/errors/index.js';
import { until } from '../helpers/until.js';

function tempFile(content: Buffer | string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gpupool-reader-thread-'));
  const file = path.join(dir, 'input.jsonl');
  fs.writeFileSync(file, content);
  return file;
}

async function all(batches: AsyncIterable<readonly (InputRecord | SpanRecord)[]>): Promise<(InputRecord | SpanRecord)[]> {
  const out: (InputRecord | SpanRecord)[] = [];
  for await (const batch of batches) out.push(...batch);
  return out;
}

/** Records as plain data, offsets as arrays (a view and a copy of the same numbers compare equal). */
function plain(records: (InputRecord | SpanRecord)[]): unknown[] {
  return records.map((r) => ('offsets' in r ? { ...r, offsets: [...r.offsets] } : { ...r }));
}

// Every kind of line the reader tells apart, beyond ASCII too, some long enough to cross chunks.
function mixedInput(lines: number): string {
  const out: string[] = ['\ufeff{"first":true}'];
  for (let i = 1; i < lines; i++) {
    if (i % 997 === 0) out.push('not json');
    else if (i % 991 === 0) out.push('');
    else if (i % 983 === 0) out.push(`{"long":"${'y'.repeat(150_000)}"}`);
    else if (i % 13 === 0) out.push(`{"text":"δοκιμή ${i} 😀","cost":${(i % 7) + 1}}`);
    else if (i % 29 === 0) out.push(`  {"spaced": ${i}}\r`);
    else out.push(`{"n":${i}}`);
  }
  return out.join('\n') + '\n';
}

test('packBatch and unpackBatch carry spans, records and parse errors, beyond ASCII, exactly', () => {
  const batch: (InputRecord | SpanRecord)[] = [
    { seq: 0, id: 1, json: '{"a":"é😀"},{"b":2}', offsets: Uint32Array.of(0, 12) },
    { seq: 2, id: 3, json: '{"c":3}', cost: 2.5 },
    { seq: 3, id: 4, parseError: 'line 4 is not valid JSON (unexpected token): {x' },
    { seq: 5, id: 6, json: '1,2,3', offsets: Uint32Array.of(0, 2, 4) },
  ];
  assert.deepEqual(plain(unpackBatch(packBatch(batch))), plain(batch));
  assert.deepEqual(unpackBatch(packBatch([])), []);
  assert.throws(() => packBatch([{ seq: 0, id: 'a.png', json: '{}', cost: 1 }]), /only line numbers/);
});

test('the reader thread yields what the main-thread reader yields, spans and records, over many chunks and credit grants', async () => {
  const text = mixedInput(60_000); // ~1.4 MB: over twenty 64 KiB chunks, several grants
  const file = tempFile(text);
  const unended = tempFile(text.slice(0, -1)); // the last line without its newline
  for (const [lines, input] of [[256, file], [0, file], [256, unended]] as const) {
    const read = (s: JsonlSource | ThreadedJsonlSource) => all(lines > 0 ? s.spanBatches(lines) : s.recordBatches());
    const expected = await read(JsonlSource.fromFile(input, 'cost'));
    const threaded = ThreadedJsonlSource.fromFile(input, 'cost');
    const got = await read(threaded);
    assert.equal(got.length, expected.length, `spanLines ${lines}, ${input === unended ? 'no final newline' : 'final newline'}`);
    assert.deepEqual(plain(got), plain(expected), `spanLines ${lines}, ${input === unended ? 'no final newline' : 'final newline'}`);
    assert.equal(threaded.fractionRead(), 1);
  }
  assert.equal(ThreadedJsonlSource.fromFile(file, 'cost').identity, JsonlSource.fromFile(file, 'cost').identity, 'a run resumes across the two');
});

test('the thread reads at most READ_AHEAD_CHUNKS ahead of the consumer, and stopping early ends it', async () => {
  const file = tempFile(Array.from({ length: 400_000 }, (_, i) => `{"n":${i}}`).join('\n') + '\n'); // ~5 MB, ~80 chunks
  const source = ThreadedJsonlSource.fromFile(file, 'cost');
  let taken = 0;
  for await (const batch of source.spanBatches(256)) {
    assert.ok(batch.length > 0);
    if (++taken === 3) {
      // Its first credits were READ_AHEAD_CHUNKS; three were taken, none given back yet.
      await until('the thread to read ahead to its credits', () => source.chunksWaiting >= READ_AHEAD_CHUNKS - 3);
      await new Promise((resolve) => setTimeout(resolve, 300)); // an unbounded thread would read the file whole by now
      assert.ok(source.chunksWaiting <= READ_AHEAD_CHUNKS, `${source.chunksWaiting} chunks waiting`);
      break;
    }
  }
  assert.equal(source.threadRunning, false, 'the thread ended with the read');
  // Stopped: a fresh read still starts from the beginning.
  const again = await all(source.spanBatches(256));
  assert.equal(again.reduce((n, r) => n + ('offsets' in r ? r.offsets.length : 1), 0), 400_000);
  assert.equal(source.threadRunning, false);
});

test('close() ends a read at once, with the thread, however much is left; later reads yield nothing', async () => {
  const file = tempFile(Array.from({ length: 400_000 }, (_, i) => `{"n":${i}}`).join('\n') + '\n');
  const source = ThreadedJsonlSource.fromFile(file, 'cost');
  let batches = 0;
  for await (const batch of source.spanBatches(256)) {
    assert.ok(batch.length > 0);
    if (++batches === 2) {
      await until('chunks waiting, which close() drops', () => source.chunksWaiting > 0);
      source.close();
    }
  }
  assert.equal(batches, 2, 'nothing after close()');
  assert.equal(source.threadRunning, false);
  assert.deepEqual(await all(source.spanBatches(256)), []);
});

test('a read error in the thread keeps its system code, so the run words it as GPUPOOL_E_INPUT_READ', async () => {
  const file = tempFile('{"a":1}\n');
  const source = ThreadedJsonlSource.fromFile(file, 'cost');
  fs.rmSync(file); // gone before the thread opens it
  const err = await all(source.spanBatches(256)).then(
    () => assert.fail('read a deleted file'),
    (e: unknown) => e,
  );
  assert.equal((err as NodeJS.ErrnoException).code, 'ENOENT');
  assert.equal(typeof (err as NodeJS.ErrnoException).syscall, 'string');
  const words = inputReadError(err, file);
  assert.ok(words instanceof GpupoolError);
  assert.equal(words.code, 'GPUPOOL_E_INPUT_READ');
  assert.match(words.message, /no such file/);
});

test('GPUPOOL_READER_THREAD: auto, on or off; auto means a thread from 4 CPUs up; anything else is refused by name', () => {
  assert.equal(readerThreadSetting({}), 'auto');
  assert.equal(readerThreadSetting({ GPUPOOL_READER_THREAD: '' }), 'auto');
  assert.equal(readerThreadSetting({ GPUPOOL_READER_THREAD: 'off' }), 'off');
  assert.equal(wantsReaderThread('auto', 2), false);
  assert.equal(wantsReaderThread('auto', 4), true);
  assert.equal(wantsReaderThread('on', 1), true);
  assert.equal(wantsReaderThread('off', 64), false);
  assert.throws(
    () => readerThreadSetting({ GPUPOOL_READER_THREAD: 'yes' }),
    (e: unknown) => e instanceof GpupoolError && e.code === 'GPUPOOL_E_USAGE' && /GPUPOOL_READER_THREAD="yes"/.test(e.message) && /auto.*on.*off/.test(e.message),
  );
});
