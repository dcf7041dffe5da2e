// The run's output sink with a real file: lines encoded into its group buffers as they come (or,
// with a writer thread, spans staged as their outputs and their lines made by the thread), groups
// written one at a time and committed after each write, byte for byte what was given.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { decodeWorkerMessage, OutputStrings, type OutputTexts } from '../../src/protocol/index.js';
import { JsonlSink, type GroupCommit } from '../../src/run/index.js';
import { LineWriterThread } from '../../src/run/writer/index.js';
import { newSpanItem, newWorkItem } from '../../src/scheduler/index.js';
import { tempDir } from '../helpers/cli.js';
import { until } from '../helpers/until.js';

/** Each test that writes lines runs with the lines made here and with a writer thread. */
const WRITERS = [false, true] as const;
const withWriter = (writer: boolean) => (writer ? ', writer thread' : '');

function sinkIn(dir: string, options: { flushItems?: number; flushBytes?: number; flushEveryMs?: number; commitDelayMs?: number; writer?: boolean }) {
  const commits: GroupCommit[] = [];
  const file = path.join(dir, 'out.jsonl');
  const sink = new JsonlSink({
    path: file,
    startBytes: 0,
    writer: options.writer ? new LineWriterThread() : undefined,
    flushItems: options.flushItems,
    flushBytes: options.flushBytes,
    flushEveryMs: options.flushEveryMs ?? 5,
    commit: async (group) => {
      commits.push(group);
      if (options.commitDelayMs) await new Promise((r) => setTimeout(r, options.commitDelayMs));
    },
  });
  return { sink, commits, file };
}

for (const writer of WRITERS) test(`every line exactly as given, multi-byte and very long ones included; each commit records the file length after its group${withWriter(writer)}`, async () => {
  const dir = tempDir('gpupool-sink-');
  const { sink, commits, file } = sinkIn(dir, { flushItems: 7, writer });
  const outputs = ['"h\u00e9 \u2713 \ud83d\ude00"', JSON.stringify('x'.repeat(200_000) + '\u00e9'), '{"a":[1,2]}', 'null', JSON.stringify('\ud800 lone')];
  const expected: string[] = [];
  for (let i = 0; i < 100; i++) {
    const out = outputs[i % outputs.length];
    sink.doneJson(newWorkItem(i, i + 1, '{}'), out, 'cpu');
    expected.push(`{"id":${i + 1},"output":${out}}\n`);
    if (i % 13 === 0) await new Promise((r) => setImmediate(r)); // let groups be written mid-stream
  }
  await sink.close();
  const text = fs.readFileSync(file, 'utf8');
  assert.equal(text, expected.join('').replace('\ud800', '\ufffd'));
  const size = fs.statSync(file).size;
  assert.equal(commits.at(-1)?.outputBytes, size);
  for (let k = 1; k < commits.length; k++) assert.ok(commits[k].outputBytes > commits[k - 1].outputBytes);
  assert.deepEqual(commits.flatMap((c) => [...c.done]).sort((a, b) => a - b), [...Array(100).keys()]);
});

for (const writer of WRITERS) test(`a group is written once it holds flushBytes, however few items; a slow commit never loses or splits a line${withWriter(writer)}`, async () => {
  const dir = tempDir('gpupool-sink-');
  // No timer and no item count in play: only the byte bound can start a group before close.
  const { sink, commits, file } = sinkIn(dir, { flushBytes: 1 << 20, flushEveryMs: 60_000, commitDelayMs: 30, writer });
  const big = JSON.stringify('y'.repeat(100_000));
  // One group written first, so a writer thread is up (from the sources it loads tsx: ~0.3 s).
  sink.doneJson(newWorkItem(0, 1, '{}'), big, 'cpu');
  await sink.flush();
  const first = commits.length;
  for (let i = 1; i < 200; i++) {
    sink.doneJson(newWorkItem(i, i + 1, '{}'), big, 'cpu');
    if (i % 5 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  // Groups started by flushBytes commit on their own; without it nothing would before close.
  await until('two groups committed before close', () => commits.length - first >= 2, 10_000);
  const beforeClose = commits.length - first;
  await sink.close();
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.length - 1, 200);
  assert.ok(lines.slice(0, -1).every((l, i) => l === `{"id":${i + 1},"output":${big}}`), 'a line is not as given');
  assert.ok(beforeClose >= 2, `only ${beforeClose} groups before close: flushBytes did not start any`);
  assert.ok(commits.every((c) => c.done.length > 0), 'an empty group was committed');
});

/** The outputs as a worker's answer carries them: strings, or slices of a `result_array` frame's bytes (invalid UTF-8 included). */
const outputForms = {
  strings: (texts: string[]): OutputTexts => new OutputStrings(texts),
  'frame slices': (texts: string[]): OutputTexts => {
    const header = `{"type":"result_array","id":1,"count":${texts.length}}\n[`;
    // A lone surrogate is sent as the bytes of a UTF-16 surrogate (ED A0 80), which UTF-8 forbids.
    const body = Buffer.concat(texts.map((t, i) => Buffer.from((i > 0 ? ',' : '') + t.replace('\ud800', '\u0000'), 'utf8')).map((b) => { const z = b.indexOf(0); return z === -1 ? b : Buffer.concat([b.subarray(0, z), Buffer.of(0xed, 0xa0, 0x80), b.subarray(z + 1)]); }));
    const msg = decodeWorkerMessage(Buffer.concat([Buffer.from(header), body, Buffer.from(']')]));
    assert.equal(msg.type, 'result_lines');
    return (msg as { outputs: OutputTexts }).outputs;
  },
};

for (const writer of WRITERS) for (const [form, make] of Object.entries(outputForms)) test(`a span is written byte by byte exactly as its lines would be (outputs as ${form}${withWriter(writer)}): ids of every width, outputs beyond ASCII, invalid UTF-8, long outputs, a buffer that must grow mid-span, lines of single items between spans`, async () => {
  const dir = tempDir('gpupool-sink-');
  const { sink, commits, file } = sinkIn(dir, { flushItems: 1_000_000, flushEveryMs: 60_000, writer });
  // '"\ud800 raw"' is not what an encoder writes: it holds a lone surrogate itself, not its escape.
  const outputs = ['7', '"h\u00e9 \u2713 \ud83d\ude00"', '{"a":[1,2]}', JSON.stringify('\ud800 lone'), '"\ud800 raw"', JSON.stringify('z'.repeat(300_000)), 'null', '"\\u00e9\\n"'];
  const expected: string[] = [];
  // First ids chosen so the ids cross every digit boundary, up to the largest safe integer.
  const firstIds = [1, 8, 95, 996, 99_990, 2 ** 31 - 3, 2 ** 32 - 3, Number.MAX_SAFE_INTEGER - 6];
  let seq = 0;
  for (const firstId of firstIds) {
    const count = outputs.length;
    const span = newSpanItem(seq, firstId, outputs.map(() => '{}').join(','), Uint32Array.from(outputs, (_, k) => 3 * k));
    sink.doneSpan(span, make(['"unused"', ...outputs]), 1, 'cpu');
    for (let j = 0; j < count; j++) expected.push(`{"id":${firstId + j},"output":${outputs[j]}}\n`);
    seq += count;
    // A single item's line between two spans: with a writer thread, bytes the thread copies as they are.
    sink.doneJson(newWorkItem(seq, `s${seq}`, '{}'), '"single"', 'cpu');
    expected.push(`{"id":"s${seq}","output":"single"}\n`);
    seq += 1;
  }
  await sink.close();
  // Bytes, not decoded text: invalid UTF-8 copied as it came would read back as U+FFFD too.
  assert.deepEqual(fs.readFileSync(file), Buffer.from(expected.join('').replaceAll('\ud800', '\ufffd'.repeat(form === 'strings' ? 1 : 3))));
  assert.deepEqual(commits.flatMap((c) => [...c.done]), [...Array(seq).keys()]);
  assert.equal(sink.succeeded, seq);
});

test('a span whose seqs run past what the journal takes is refused before any of its lines is buffered', async () => {
  const dir = tempDir('gpupool-sink-');
  const { sink, commits, file } = sinkIn(dir, {});
  sink.doneJson(newWorkItem(0, 1, '{}'), '1', 'cpu');
  const tooFar = newSpanItem(2 ** 32 - 3, 5, '{},{},{}', Uint32Array.of(0, 3, 6));
  assert.throws(() => sink.doneSpan(tooFar, new OutputStrings(['1', '2', '3']), 0, 'cpu'), /span's last seq must be an integer in \[0, 4294967294\]/);
  assert.throws(() => sink.doneJson(newWorkItem(-1, 2, '{}'), '1', 'cpu'), /a done seq must be an integer in \[0, 4294967294\]/);
  await sink.close();
  assert.equal(fs.readFileSync(file, 'utf8'), '{"id":1,"output":1}\n');
  assert.deepEqual(commits.flatMap((c) => [...c.done]), [0]);
});

for (const writer of WRITERS) for (const [form, make] of Object.entries(outputForms)) test(`a span is all or nothing (outputs as ${form}${withWriter(writer)}): when growing the buffer fails midway, none of its lines reach the file and none of its seqs are committed`, async () => {
  const dir = tempDir('gpupool-sink-');
  const { sink, commits, file } = sinkIn(dir, { flushItems: 1_000_000, flushEveryMs: 60_000, writer });
  const realAlloc = Buffer.allocUnsafeSlow;
  Buffer.allocUnsafeSlow = ((n: number) => {
    if (n > 300_000) throw new RangeError('Array buffer allocation failed');
    return realAlloc(n);
  }) as typeof Buffer.allocUnsafeSlow;
  try {
    // The first line fits the 256 KiB buffer; the second needs a bigger one.
    assert.throws(() => sink.doneSpan(newSpanItem(0, 1, '0,0', Uint32Array.of(0, 2)), make(['1', JSON.stringify('x'.repeat(400_000))]), 0, 'cpu'), /allocation failed/);
  } finally {
    Buffer.allocUnsafeSlow = realAlloc;
  }
  sink.doneSpan(newSpanItem(10, 11, '0,0', Uint32Array.of(0, 2)), make(['"a"', '"b"']), 0, 'cpu');
  await sink.close();
  const ids = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: number }).id);
  assert.deepEqual(ids, [11, 12]);
  assert.deepEqual(commits.flatMap((c) => [...c.done]), [10, 11]);
  assert.equal(sink.succeeded, 2);
});

test('the output is cut back to where the run starts, and left alone (not even truncated to its own size) when it is already there', async () => {
  const dir = tempDir('gpupool-sink-');
  const file = path.join(dir, 'out.jsonl');
  const past = new Date('2020-01-01T00:00:00Z');
  for (const [content, startBytes] of [['{"id":1,"output":1}\n{"id":2,"out', 20], ['{"id":1,"output":1}\n', 20], ['', 0]] as const) {
    fs.writeFileSync(file, content);
    fs.utimesSync(file, past, past);
    const sink = new JsonlSink({ path: file, startBytes });
    const cut = content.length !== startBytes;
    // ftruncate changes the file's mtime even to the same size: an untouched file keeps the old one.
    assert.equal(fs.statSync(file).mtime.getTime() === past.getTime(), !cut, `content ${JSON.stringify(content)}`);
    assert.equal(fs.statSync(file).size, startBytes);
    await sink.close();
  }
});
